//! A spool: report entries written to an anonymous temporary file as they are produced, one a
//! line, then copied out (all, or the first n) when the report is put together. This is what
//! keeps reports in bounded memory: a 10,000-cluster audit's SARIF results wait on disk, not in
//! a `Vec`, and come out in the order the report needs (most severe first).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

pub struct Spool {
    file: BufWriter<File>,
    /// Lines written.
    pub lines: usize,
}

impl Spool {
    pub fn new() -> std::io::Result<Self> {
        Ok(Spool {
            file: BufWriter::new(tempfile::tempfile()?),
            lines: 0,
        })
    }

    /// Adds one entry; `line` must not contain a newline (compact JSON and escaped XML do not).
    pub fn push(&mut self, line: &str) -> std::io::Result<()> {
        debug_assert!(!line.contains('\n'));
        self.file.write_all(line.as_bytes())?;
        self.file.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }

    /// Copies the first `limit` entries to `out`, `separator` between them (not after the
    /// last); returns how many were copied.
    pub fn copy_to(
        &mut self,
        out: &mut dyn Write,
        limit: usize,
        separator: &str,
        first: &mut bool,
    ) -> std::io::Result<usize> {
        self.file.flush()?;
        let file = self.file.get_mut();
        file.seek(SeekFrom::Start(0))?;
        let mut reader = BufReader::new(Read::by_ref(file));
        let mut line = String::new();
        let mut copied = 0;
        while copied < limit {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            if !*first {
                out.write_all(separator.as_bytes())?;
            }
            *first = false;
            out.write_all(line.trim_end_matches('\n').as_bytes())?;
            copied += 1;
        }
        Ok(copied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_in_order_cut_at_the_limit_with_separators_between() {
        let mut spool = Spool::new().unwrap();
        for n in 0..5 {
            spool.push(&format!("{{\"n\":{n}}}")).unwrap();
        }
        let mut out = Vec::new();
        let mut first = true;
        assert_eq!(spool.copy_to(&mut out, 3, ",", &mut first).unwrap(), 3);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"n\":0},{\"n\":1},{\"n\":2}"
        );
        assert_eq!(spool.lines, 5);
    }
}
