//! `bounded_endpoints!`: endpoints whose arguments are decoded by `common::decode` (bounded
//! decoding work and type table) while the `.did` keeps their typed signatures.
//!
//! ic-cdk's `decode_with` alone exports such an endpoint's argument as `blob` (its `.did` stub
//! takes the raw bytes), so each endpoint is declared `hidden` to ic-cdk and its typed signature
//! is given to `export_candid!` by a never-called twin in `did_signatures`, with the same docs.
//!
//! ```text
//! bounded_endpoints! {
//!     /// Doc comment, copied into the .did.
//!     update("common::decode::one")      // or query(..); `args` for two or more arguments
//!     fn name(arg: Type) -> Ret { body }
//! }
//! ```

macro_rules! bounded_endpoints {
    ($(
        $(#[doc = $doc:literal])*
        $kind:ident($decoder:literal)
        fn $name:ident($($arg:ident: $ty:ty),+ $(,)?) -> $ret:ty $body:block
    )*) => {
        $(
            $(#[doc = $doc])*
            #[ic_cdk::$kind(hidden = true, decode_with = $decoder)]
            fn $name($($arg: $ty),+) -> $ret $body
        )*

        /// The `.did` signatures of the endpoints above (never called).
        #[allow(dead_code, unused_variables, clippy::diverging_sub_expression)]
        mod did_signatures {
            use super::*;
            $(
                $(#[doc = $doc])*
                #[candid::candid_method($kind)]
                fn $name($($arg: $ty),+) -> $ret {
                    unreachable!("only the .did is generated from this signature")
                }
            )*
        }
    };
}
