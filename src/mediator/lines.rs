//! Incremental stderr handling: raw chunks in, sanitized bounded lines out,
//! with a byte-capped tail kept as evidence and exact line and byte counts.
//! Nothing buffers a whole stream: a partial line waits, capped.

use std::collections::VecDeque;

use crate::protocol::sanitize::sanitize_bytes;

/// Marks a line that was cut at the line cap.
const CUT_MARK: &str = " …[line cut]";

/// Splits stderr into lines and keeps the newest of them.
#[derive(Debug)]
pub struct StderrTail {
    line_cap: usize,
    tail_cap: usize,
    partial: Vec<u8>,
    /// True while skipping the rest of a line already cut.
    skipping: bool,
    tail: VecDeque<String>,
    tail_bytes: usize,
    pub lines: u64,
    pub bytes: u64,
}

impl StderrTail {
    pub fn new(line_cap: usize, tail_cap: usize) -> Self {
        Self {
            line_cap: line_cap.max(1),
            tail_cap,
            partial: Vec::new(),
            skipping: false,
            tail: VecDeque::new(),
            tail_bytes: 0,
            lines: 0,
            bytes: 0,
        }
    }

    /// Feeds a chunk; calls `emit` with each completed, sanitized line.
    pub fn push(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(&str)) {
        self.bytes += chunk.len() as u64;
        while !chunk.is_empty() {
            let newline = chunk.iter().position(|&b| b == b'\n');
            let (piece, rest, ends) = match newline {
                Some(i) => (&chunk[..i], &chunk[i + 1..], true),
                None => (chunk, &[][..], false),
            };
            chunk = rest;
            if !self.skipping {
                let room = self.line_cap - self.partial.len();
                self.partial
                    .extend_from_slice(&piece[..piece.len().min(room)]);
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
        if !self.partial.is_empty() {
            self.finish_line(false, emit);
        }
    }

    fn finish_line(&mut self, cut: bool, emit: &mut impl FnMut(&str)) {
        let bytes = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
        let mut line = sanitize_bytes(bytes);
        if cut {
            line.push_str(CUT_MARK);
        }
        self.partial.clear();
        self.lines += 1;
        emit(&line);
        self.tail_bytes += line.len();
        self.tail.push_back(line);
        while self.tail_bytes > self.tail_cap {
            match self.tail.pop_front() {
                Some(old) => self.tail_bytes -= old.len(),
                None => break,
            }
        }
    }

    /// The kept lines, oldest first.
    pub fn tail(&self) -> Vec<String> {
        self.tail.iter().cloned().collect()
    }

    /// The last `n` kept lines.
    pub fn last(&self, n: usize) -> Vec<String> {
        self.tail
            .iter()
            .skip(self.tail.len().saturating_sub(n))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]], line_cap: usize, tail_cap: usize) -> (Vec<String>, StderrTail) {
        let mut tail = StderrTail::new(line_cap, tail_cap);
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
