//! Stable memory with an undo journal.
//!
//! Pages are allocated lazily (a canister that grows stable memory by 8 MiB buckets but writes a
//! few KiB costs a few KiB), and every write made while a message runs records the bytes it
//! overwrote, so a trap can undo exactly what the message did without copying the whole memory.

pub const WASM_PAGE: u64 = 65536;
/// Cap on stable memory size. The IC allows hundreds of GiB; tests never need that and the
/// host must not run out of memory, so growth beyond this fails like an exhausted subnet.
pub const MAX_STABLE_PAGES: u64 = 4 * 65536; // 16 GiB of address space, allocated lazily

#[derive(Default, Clone)]
pub struct StableMemory {
    size_pages: u64,
    pages: Vec<Option<Box<[u8]>>>,
    journal: Option<Journal>,
}

#[derive(Default, Clone)]
struct Journal {
    size_pages: u64,
    undo: Vec<(u64, Vec<u8>)>,
}

impl StableMemory {
    pub fn size_pages(&self) -> u64 {
        self.size_pages
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_pages * WASM_PAGE
    }

    /// Grows by `new_pages`, returning the old size, or `None` when over the cap.
    pub fn grow(&mut self, new_pages: u64) -> Option<u64> {
        let old = self.size_pages;
        let new = old.checked_add(new_pages)?;
        if new > MAX_STABLE_PAGES {
            return None;
        }
        self.size_pages = new;
        Some(old)
    }

    /// Reads `buf.len()` bytes at `offset`; `Err` if out of bounds.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        self.check(offset, buf.len() as u64)?;
        let mut done = 0usize;
        while done < buf.len() {
            let pos = offset + done as u64;
            let (page, within) = ((pos / WASM_PAGE) as usize, (pos % WASM_PAGE) as usize);
            let n = (WASM_PAGE as usize - within).min(buf.len() - done);
            match self.pages.get(page).and_then(|p| p.as_ref()) {
                Some(p) => buf[done..done + n].copy_from_slice(&p[within..within + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
        }
        Ok(())
    }

    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), String> {
        self.check(offset, data.len() as u64)?;
        if self.journal.is_some() && !data.is_empty() {
            let mut old = vec![0; data.len()];
            self.read(offset, &mut old)?;
            if let Some(j) = self.journal.as_mut() {
                j.undo.push((offset, old));
            }
        }
        self.write_raw(offset, data);
        Ok(())
    }

    fn write_raw(&mut self, offset: u64, data: &[u8]) {
        let mut done = 0usize;
        while done < data.len() {
            let pos = offset + done as u64;
            let (page, within) = ((pos / WASM_PAGE) as usize, (pos % WASM_PAGE) as usize);
            let n = (WASM_PAGE as usize - within).min(data.len() - done);
            if self.pages.len() <= page {
                self.pages.resize(page + 1, None);
            }
            let p = self.pages[page].get_or_insert_with(|| vec![0u8; WASM_PAGE as usize].into_boxed_slice());
            p[within..within + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
    }

    fn check(&self, offset: u64, len: u64) -> Result<(), String> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size_bytes() => Ok(()),
            _ => Err(format!(
                "stable memory out of bounds: offset {offset} + size {len} > {} bytes",
                self.size_bytes()
            )),
        }
    }

    /// The allocated pages with their index (for saving a state).
    pub fn allocated_pages(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.pages.iter().enumerate().filter_map(|(i, p)| p.as_deref().map(|p| (i as u64, p)))
    }

    /// A memory of `size_pages` holding `pages` (as [`Self::allocated_pages`] gave them).
    pub fn from_pages(size_pages: u64, pages: Vec<(u64, Vec<u8>)>) -> Result<Self, String> {
        let mut m = StableMemory { size_pages, ..Default::default() };
        for (i, bytes) in pages {
            if i >= size_pages || bytes.len() != WASM_PAGE as usize {
                return Err(format!("stable page {i} out of range or not {WASM_PAGE} bytes"));
            }
            m.write_raw(i * WASM_PAGE, &bytes);
        }
        Ok(m)
    }

    /// Starts recording undo information (at the start of a message).
    pub fn begin(&mut self) {
        self.journal = Some(Journal { size_pages: self.size_pages, undo: Vec::new() });
    }

    /// Keeps the message's writes.
    pub fn commit(&mut self) {
        self.journal = None;
    }

    /// Undoes the message's writes and growth.
    pub fn rollback(&mut self) {
        if let Some(j) = self.journal.take() {
            for (offset, old) in j.undo.into_iter().rev() {
                self.write_raw(offset, &old);
            }
            self.size_pages = j.size_pages;
            let keep = self.size_pages as usize;
            if self.pages.len() > keep {
                self.pages.truncate(keep);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_restores_bytes_and_size() {
        let mut m = StableMemory::default();
        m.grow(1).unwrap();
        m.write(10, b"keep").unwrap();
        m.begin();
        m.grow(2).unwrap();
        m.write(8, b"overwrite-across").unwrap();
        m.write(WASM_PAGE * 2 + 5, b"new page").unwrap();
        m.rollback();
        assert_eq!(m.size_pages(), 1);
        let mut buf = [0u8; 20];
        m.read(6, &mut buf).unwrap();
        assert_eq!(&buf[4..8], b"keep");
        assert_eq!(&buf[..4], &[0; 4]);
        assert!(m.read(WASM_PAGE, &mut [0u8; 1]).is_err());
    }

    #[test]
    fn writes_across_page_boundary() {
        let mut m = StableMemory::default();
        m.grow(2).unwrap();
        m.write(WASM_PAGE - 2, b"abcd").unwrap();
        let mut buf = [0u8; 4];
        m.read(WASM_PAGE - 2, &mut buf).unwrap();
        assert_eq!(&buf, b"abcd");
    }
}
