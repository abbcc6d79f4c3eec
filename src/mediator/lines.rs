//! Incremental stderr handling: raw chunks in, sanitized bounded lines out,
//! with a byte-capped tail kept as evidence and exact line and byte counts.
//! Nothing buffers a whole stream: a partial line waits, capped. Only lines
//! that are streamed or end up in the tail are sanitized: a flood of short
//! lines costs a newline search and a copy per line, no allocation.
//! Secrets are masked per complete line, after assembly, so a secret split
//! across chunks is still found; streamed lines and the tail alike.

use std::sync::Arc;

use super::mask::Masker;
use crate::protocol::sanitize::sanitize_bytes;

/// Marks a line that was cut at the line cap.
const CUT_MARK: &str = " …[line cut]";

/// Splits stderr into lines, streams the first of them and keeps the newest.
#[derive(Debug)]
pub struct StderrTail {
    line_cap: usize,
    tail_cap: usize,
    /// Lines still to stream; past it lines are only counted and kept.
    stream_left: u64,
    /// Raw tail records: a cut flag byte, the line's bytes, `\n`. Compacted to
    /// the newest `tail_cap` bytes once it holds twice that, so it stays bounded.
    raw: Vec<u8>,
    /// Where the record of the line being read starts in `raw`.
    open: Option<usize>,
    /// True while skipping the rest of a line already cut.
    skipping: bool,
    /// The request's secrets, masked in every line that leaves.
    masker: Option<Arc<Masker>>,
    pub lines: u64,
    pub bytes: u64,
    pub streamed: u64,
}

impl StderrTail {
    pub fn new(line_cap: usize, tail_cap: usize, stream_lines: u64) -> Self {
        Self {
            line_cap: line_cap.max(1),
            tail_cap,
            stream_left: stream_lines,
            raw: Vec::new(),
            open: None,
            skipping: false,
            masker: None,
            lines: 0,
            bytes: 0,
            streamed: 0,
        }
    }

    /// Masks `masker`'s secrets in every line streamed or kept.
    pub fn with_masker(mut self, masker: Arc<Masker>) -> Self {
        self.masker = masker.is_active().then_some(masker);
        self
    }

    /// From now on lines are only counted and kept, never streamed.
    pub fn stop_streaming(&mut self) {
        self.stream_left = 0;
    }

    /// Feeds a chunk; calls `emit` with each completed, sanitized line while
    /// the stream budget lasts.
    pub fn push(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(&str)) {
        self.bytes += chunk.len() as u64;
        while !chunk.is_empty() {
            let (piece, rest, ends) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], &chunk[i + 1..], true),
                None => (chunk, &[][..], false),
            };
            chunk = rest;
            if !self.skipping {
                let start = *self.open.get_or_insert_with(|| {
                    self.raw.push(0);
                    self.raw.len() - 1
                });
                let room = self.line_cap - (self.raw.len() - start - 1);
                self.raw.extend_from_slice(&piece[..piece.len().min(room)]);
                if piece.len() > room {
                    self.finish_line(true, emit);
                    self.skipping = true;
                }
            }
            if ends {
                if !self.skipping {
                    self.finish_line(false, emit);
                }
                self.skipping = false;
            }
        }
    }

    /// Ends the stream: a final line without a newline still counts.
    pub fn finish(&mut self, emit: &mut impl FnMut(&str)) {
        if self.open.is_some_and(|start| self.raw.len() > start + 1) {
            self.finish_line(false, emit);
        }
    }

    fn finish_line(&mut self, cut: bool, emit: &mut impl FnMut(&str)) {
        let Some(start) = self.open.take() else {
            return;
        };
        self.raw[start] = u8::from(cut);
        self.lines += 1;
        if self.stream_left > 0 {
            self.stream_left -= 1;
            self.streamed += 1;
            emit(&clean(&self.raw[start..], self.masker.as_deref()));
        }
        self.raw.push(b'\n');
        if self.raw.len() > 2 * self.tail_cap.max(self.line_cap) {
            self.compact();
        }
    }

    /// Drops the oldest whole records, keeping at most `tail_cap` raw bytes.
    fn compact(&mut self) {
        let from = self.raw.len().saturating_sub(self.tail_cap + 1);
        let start = match memchr::memchr(b'\n', &self.raw[from..]) {
            Some(i) => from + i + 1,
            None => self.raw.len(),
        };
        self.raw.drain(..start);
    }

    /// The kept lines, oldest first, sanitized: at most `tail_cap` bytes.
    pub fn tail(&self) -> Vec<String> {
        let end = self.open.unwrap_or(self.raw.len());
        let mut kept: Vec<String> = Vec::new();
        let mut size = 0;
        for record in self.raw[..end].rsplit(|&b| b == b'\n').skip(1) {
            let line = clean(record, self.masker.as_deref());
            if size + line.len() > self.tail_cap {
                break;
            }
            size += line.len();
            kept.push(line);
        }
        kept.reverse();
        kept
    }

    /// The last `n` kept lines.
    pub fn last(&self, n: usize) -> Vec<String> {
        let tail = self.tail();
        tail[tail.len().saturating_sub(n)..].to_vec()
    }
}

/// One raw record (cut flag, bytes) as a line that is safe to draw, its
/// secrets masked first: sanitizing could change a secret's bytes (a control
/// character becomes `^M`) and hide it from the patterns.
fn clean(record: &[u8], masker: Option<&Masker>) -> String {
    let (cut, bytes) = match record.split_first() {
        Some((flag, bytes)) => (*flag == 1, bytes),
        None => (false, record),
    };
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let mut line = match masker {
        Some(masker) => sanitize_bytes(&masker.mask_bytes(bytes)),
        None => sanitize_bytes(bytes),
    };
    if cut {
        line.push_str(CUT_MARK);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]], line_cap: usize, tail_cap: usize) -> (Vec<String>, StderrTail) {
        let mut tail = StderrTail::new(line_cap, tail_cap, u64::MAX);
        let mut seen = Vec::new();
        for chunk in chunks {
            tail.push(chunk, &mut |l| seen.push(l.to_owned()));
        }
        tail.finish(&mut |l| seen.push(l.to_owned()));
        (seen, tail)
    }

    #[test]
    fn lines_split_across_chunks_are_joined() {
        let (seen, tail) = run(&[b"hel", b"lo\nwor", b"ld\r\n", b"last"], 100, 1000);
        assert_eq!(seen, ["hello", "world", "last"]);
        assert_eq!((tail.lines, tail.bytes), (3, 17));
    }

    #[test]
    fn an_endless_line_is_cut_once_and_the_rest_counted() {
        let big = vec![b'x'; 10_000];
        let (seen, tail) = run(&[&big, &big, b"\nnext\n"], 16, 1000);
        assert_eq!(
            seen,
            [format!("{}{CUT_MARK}", "x".repeat(16)), "next".to_string()]
        );
        assert_eq!(tail.bytes, 20_006);
    }

    #[test]
    fn the_tail_keeps_the_newest_lines_within_its_cap() {
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let (_, tail) = run(&[text.as_bytes()], 100, 50);
        let kept = tail.tail();
        assert!(kept.iter().map(String::len).sum::<usize>() <= 50);
        assert_eq!(kept.last().unwrap(), "line 999");
        assert_eq!(tail.lines, 1000);
        assert_eq!(tail.last(2), ["line 998", "line 999"]);
    }

    #[test]
    fn escape_sequences_never_reach_a_line() {
        let (seen, _) = run(
            &[b"\x1b]52;c;aGk=\x07copy \x1b[31mred\x1b[0m\rEVIL\n"],
            100,
            1000,
        );
        assert_eq!(seen, ["copy red^MEVIL"]);
    }
}
