//! The queries the client pages need (the messenger's screens, the licensing, burn and registry
//! checkpoints), each called as a client calls it, with the executor's instruction count.

use crate::bench::Bench;
use crate::figures::QueryFigure;
use crate::ids;
use crate::load::{parties, HOT, PROGRAMS};
use candid::types::value::{IDLValue, VariantValue};
use candid::{encode_args, utils::ArgumentEncoder, IDLArgs, Principal};
use interfaces::audit::PageRequest;
use interfaces::burn_ledger::{Granularity, ListTotalsRequest, Scope, ScopeKind, SeriesRequest};
use interfaces::license_issuer::{AppQuery, LicenseQuery, ProgramQuery};
use interfaces::messaging::{Direction, ReadRequest};
use interfaces::subnet_registry::{NodeQuery, PlacementQuery, ProposalQuery, SubnetQuery};

const HOUR_NS: u64 = 3_600_000_000_000;

fn page(limit: u32) -> PageRequest {
    PageRequest { start: None, limit: Some(limit) }
}

/// Whether a reply is `variant { Err = ... }`.
fn is_err(reply: &[u8]) -> Option<String> {
    let args = IDLArgs::from_bytes(reply).ok()?;
    match args.args.first() {
        Some(IDLValue::Variant(VariantValue(field, _))) if field.id.get_id() == candid::idl_hash("Err") => Some(format!("{}", args)),
        _ => None,
    }
}

struct Run<'a> {
    b: &'a mut Bench,
    out: Vec<QueryFigure>,
}

impl Run<'_> {
    fn q<A: ArgumentEncoder>(&mut self, canister: Principal, name: &str, label: &str, caller: Principal, args: A) {
        let arg = encode_args(args).expect("encode query arguments");
        let outcome = self.b.query_stats(canister, caller, name, arg);
        let reply = outcome.result.unwrap_or_else(|r| panic!("query {name} ({label}) rejected: {r}"));
        if let Some(err) = is_err(&reply) {
            panic!("query {name} ({label}) answered an error: {err}");
        }
        let canister_name = crate::canister_name(&self.b.ids(), canister);
        self.out.push(QueryFigure {
            canister: canister_name.into(),
            label: format!("{name} {label}").trim().to_string(),
            instructions: outcome.instructions,
            reply_bytes: reply.len() as u64,
        });
    }
}

/// Every page query, as the probe user (messaging) or anyone (checkpoints) calls it.
pub fn measure(b: &mut Bench) -> Vec<QueryFigure> {
    let ids = b.ids();
    let now = b.env.ex.time_ns();
    let hot = b.p.conversations[HOT as usize];
    let direct = b.p.conversations[0];
    let license = b.p.licenses[0];
    let app = b.p.apps[0];
    let program = b.p.programs[0];
    let subnet = b.p.subnets[0];
    let (probe, anyone) = (ids::probe(), Principal::anonymous());
    let mut r = Run { b, out: vec![] };

    let m = ids.messaging;
    r.q(m, "inbox", "(probe: 20 conversations, page of 20)", probe, (page(20),));
    // Pages that are full at every scale (the reference state has about 22 messages per direct).
    let newest = |conversation_id, limit| ReadRequest { conversation_id, from_seq: None, direction: Direction::Backward, limit: Some(limit) };
    r.q(m, "read_messages", "(hot group, newest 50)", probe, (newest(hot, 50),));
    r.q(m, "read_messages", "(direct, newest 20)", probe, (newest(direct, 20),));
    r.q(m, "members", "(hot group, first page)", probe, (hot, None::<Principal>, None::<u32>));
    r.q(m, "key_directory", "(hot group's 11 members)", probe, (parties(HOT).members,));
    r.q(m, "conversation", "(hot group)", probe, (hot,));
    r.q(m, "get_user", "", probe, (ids::user(0),));
    r.q(m, "find_user_by_handle", "", probe, (ids::user_handle(0),));
    r.q(m, "me", "", probe, ());
    r.q(m, "metrics", "", anyone, ());
    r.q(m, "audit_log", "(first page of 50)", anyone, (page(50),));

    let i = ids.issuer;
    r.q(i, "licensing_report", "", anyone, ());
    r.q(i, "list_licenses", "(one program, page of 50)", anyone, (LicenseQuery { program_id: Some(program), holder: None, status: None, page: page(50) },));
    r.q(i, "list_licenses", "(one holder)", anyone, (LicenseQuery { program_id: None, holder: Some(ids::holder(0)), status: None, page: page(50) },));
    r.q(i, "get_license", "", anyone, (license,));
    r.q(i, "list_apps", "(one license)", anyone, (AppQuery { program_id: None, license_id: Some(license), page: page(50) },));
    r.q(i, "list_apps", "(one program, page of 50)", anyone, (AppQuery { program_id: Some(program), license_id: None, page: page(50) },));
    r.q(i, "app_owner", "", anyone, (app,));
    r.q(i, "list_programs", &format!("({PROGRAMS} programs)"), anyone, (ProgramQuery { institution_id: None, page: page(50) },));

    let l = ids.ledger;
    r.q(l, "burn_checkpoint", "", anyone, ());
    r.q(l, "totals", "(suite)", anyone, (Scope::Suite,));
    r.q(l, "totals", "(one app)", anyone, (Scope::Canister(app),));
    r.q(l, "burn_rate", "(1 hour)", anyone, (3_600u64,));
    r.q(l, "burn_rate", "(24 hours)", anyone, (86_400u64,));
    r.q(l, "burn_rate", "(31 days)", anyone, (31 * 86_400u64,));
    r.q(l, "mission70_meter", "(24 hours)", anyone, (None::<u64>,));
    let series = |scope, granularity, span_hours: u64, limit| SeriesRequest {
        scope,
        granularity,
        from_ns: now.saturating_sub(span_hours * HOUR_NS),
        to_ns: now,
        limit: Some(limit),
    };
    // Two hours: the reference state holds two hours of reports, so the page is full at both scales.
    r.q(l, "series", "(suite, last 2 hours)", anyone, (series(Scope::Suite, Granularity::Hour, 2, 24),));
    r.q(l, "series", "(one program, last 31 days)", anyone, (series(Scope::Program(program), Granularity::Day, 31 * 24, 31),));
    r.q(l, "list_burns", "(first page of 50)", anyone, (page(50),));
    r.q(l, "list_totals", "(canisters, first 50)", anyone, (ListTotalsRequest { kind: ScopeKind::Canister, after: None, limit: Some(50) },));
    r.q(l, "reporter", "(one app)", anyone, (app,));

    let g = ids.registry;
    r.q(g, "compliance_report", "(one subnet)", anyone, (subnet,));
    r.q(g, "get_subnet", "", anyone, (subnet,));
    r.q(g, "list_subnets", "(page of 50)", anyone, (SubnetQuery { status: None, jurisdiction: None, page: page(50) },));
    r.q(g, "list_nodes", "(one subnet)", anyone, (NodeQuery { provider: None, data_centre: None, subnet_id: Some(subnet), page: page(50) },));
    r.q(g, "list_placements", "(one subnet, page of 50)", anyone, (PlacementQuery { subnet_id: Some(subnet), page: page(50) },));
    r.q(g, "list_placements", "(all, page of 50)", anyone, (PlacementQuery { subnet_id: None, page: page(50) },));
    r.q(g, "placement_of", "", anyone, (app,));
    r.q(g, "list_proposals", "(page of 50)", anyone, (ProposalQuery { state: None, subnet_id: None, page: page(50) },));
    r.out
}
