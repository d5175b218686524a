//! Property-style tests: random conversations (a third crossing 2^32), distorted the ways a
//! capture distorts them, must come out exactly as sent, or as sent with exactly the lost ranges
//! replaced by gaps. Many fixed seeds; a failure names its seed.

use super::testkit::{self, expected, ConvConfig, Conversation, Harness, Out, Rng};
use super::Limits;

const SEEDS: u64 = 150;

fn run(conv: &Conversation, limits: Limits) -> Harness {
    let mut h = Harness::new(limits);
    h.feed(&conv.segments);
    h.flush();
    h.check_accounting();
    h
}

/// A readable account of a direction's output and where it first departs from `want`.
fn difference(got: &[Out], want: &[Out]) -> String {
    let shape = |o: &[Out]| {
        o.iter()
            .map(|x| match x {
                Out::Data(d) => format!("Data({})", d.len()),
                Out::Gap(n) => format!("Gap({n})"),
                Out::End => "End".to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let first_bad_byte = match (got.first(), want.first()) {
        (Some(Out::Data(a)), Some(Out::Data(b))) => a.iter().zip(b).position(|(x, y)| x != y),
        _ => None,
    };
    format!("got [{}], want [{}], first differing byte {first_bad_byte:?}", shape(got), shape(want))
}

fn assert_output(h: &Harness, conv: &Conversation, lost: &[Vec<(u64, u64)>; 2], case: &str) {
    for (d, (stream, lost)) in conv.streams.iter().zip(lost).enumerate() {
        let want = expected(stream, lost, true);
        assert!(h.got.dirs[d] == want, "{case}, direction {d}: {}", difference(&h.got.dirs[d], &want));
    }
    assert!(h.got.resets.is_empty());
    assert!(h.r.is_finished(), "{case}: not finished");
}

fn no_loss() -> [Vec<(u64, u64)>; 2] {
    [Vec::new(), Vec::new()]
}

fn total_len(conv: &Conversation) -> u64 {
    conv.streams.iter().map(|s| s.len() as u64).sum()
}

#[test]
fn in_order_streams_come_out_unchanged() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let mut cfg = ConvConfig::random(&mut rng);
        cfg.handshake = seed % 2 == 0;
        let conv = testkit::conversation(&mut rng, &cfg);
        let h = run(&conv, Limits::default());
        assert_output(&h, &conv, &no_loss(), &format!("seed {seed}"));
        // One Data event per data segment, carrying its capture time.
        let per_segment: Vec<_> =
            conv.segments.iter().filter(|s| !s.payload.is_empty()).map(|s| (s.dir, s.payload.len(), s.ts)).collect();
        assert_eq!(h.got.data_events, per_segment, "seed {seed}");
        let s = h.r.stats();
        assert_eq!(s.bytes_delivered, total_len(&conv));
        assert_eq!((s.duplicate_bytes, s.overlap_bytes, s.out_of_order_segments, s.gaps), (0, 0, 0, 0), "seed {seed}");
        assert_eq!(s.segments, conv.segments.len() as u64);
    }
}

#[test]
fn reordered_streams_come_out_unchanged() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(1_000 + seed);
        let cfg = ConvConfig::random(&mut rng);
        let mut conv = testkit::conversation(&mut rng, &cfg);
        let window = rng.range(2, 16);
        testkit::reorder(&mut rng, &mut conv, window);
        let h = run(&conv, Limits::default());
        assert_output(&h, &conv, &no_loss(), &format!("seed {seed}, window {window}"));
        let s = h.r.stats();
        assert_eq!((s.gaps, s.duplicate_bytes, s.overlap_bytes, s.discarded_bytes), (0, 0, 0, 0), "seed {seed}");
    }
}

#[test]
fn duplicated_streams_come_out_unchanged() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(2_000 + seed);
        let cfg = ConvConfig::random(&mut rng);
        let mut conv = testkit::conversation(&mut rng, &cfg);
        let added = testkit::duplicate(&mut rng, &mut conv, 4);
        let window = rng.range(1, 16);
        testkit::reorder(&mut rng, &mut conv, window);
        let h = run(&conv, Limits::default());
        assert_output(&h, &conv, &no_loss(), &format!("seed {seed}, window {window}"));
        let s = h.r.stats();
        // Every copy beyond the first is a whole duplicate.
        assert_eq!((s.duplicate_bytes, s.overlap_bytes, s.gaps), (added, 0, 0), "seed {seed}");
    }
}

#[test]
fn re_sends_with_other_boundaries_come_out_unchanged() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(3_000 + seed);
        let cfg = ConvConfig::random(&mut rng);
        let mut conv = testkit::conversation(&mut rng, &cfg);
        let count = (conv.segments.len() / 4 + 1).min(300);
        let mut added = testkit::resegment(&mut rng, &mut conv, count, 3 * cfg.max_seg);
        added += testkit::duplicate(&mut rng, &mut conv, 10);
        let window = rng.range(1, 16);
        testkit::reorder(&mut rng, &mut conv, window);
        let h = run(&conv, Limits::default());
        assert_output(&h, &conv, &no_loss(), &format!("seed {seed}, window {window}"));
        let s = h.r.stats();
        assert_eq!(s.bytes_delivered, total_len(&conv));
        assert_eq!((s.duplicate_bytes + s.overlap_bytes, s.discarded_bytes, s.gaps), (added, 0, 0), "seed {seed}");
    }
}

#[test]
fn lost_segments_become_gaps_of_their_exact_length() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(4_000 + seed);
        let cfg = ConvConfig::random(&mut rng);
        let mut conv = testkit::conversation(&mut rng, &cfg);
        let count = rng.range(1, 4);
        let lost = testkit::lose(&mut rng, &mut conv, count);
        let window = if seed % 2 == 0 { 1 } else { rng.range(2, 16) };
        testkit::reorder(&mut rng, &mut conv, window);
        let h = run(&conv, Limits::default());
        assert_output(&h, &conv, &lost, &format!("seed {seed}, window {window}"));
        let s = h.r.stats();
        let runs = (lost[0].len() + lost[1].len()) as u64;
        let lost_bytes: u64 = lost.iter().flatten().map(|(a, b)| b - a).sum();
        assert_eq!((s.gaps, s.gap_bytes, s.dropped_by_limit_bytes), (runs, lost_bytes, 0), "seed {seed}");
    }
}

/// The acknowledgement rule finds a hole long before the connection closes when plenty of
/// traffic follows it, and only then.
#[test]
fn lost_segments_are_given_up_on_during_the_stream() {
    let mut found_early = 0;
    for seed in 0..SEEDS {
        let mut rng = Rng::new(5_000 + seed);
        let mut cfg = ConvConfig::random(&mut rng);
        cfg.sizes = [20_000, 20_000];
        cfg.max_seg = 100;
        let mut conv = testkit::conversation(&mut rng, &cfg);
        let lost = testkit::lose(&mut rng, &mut conv, 1);
        let window = rng.range(1, 16);
        testkit::reorder(&mut rng, &mut conv, window);
        let Some(&(start, _)) = lost.iter().flatten().next() else {
            continue;
        };
        let lost_dir = usize::from(lost[0].is_empty());
        // Segments after the lost one in its direction, when the gap came out.
        let mut h = Harness::new(Limits::default());
        let mut gap_at = None;
        for (i, s) in conv.segments.iter().enumerate() {
            h.seg(s.dir, s.tcp, &s.payload, s.ts);
            if gap_at.is_none() && h.got.dirs[lost_dir].iter().any(|o| matches!(o, Out::Gap(_))) {
                gap_at = Some(i);
            }
        }
        h.flush();
        assert_output(&h, &conv, &lost, &format!("seed {seed}"));
        let first_after = conv.segments.iter().position(|s| s.dir.index() == lost_dir && s.offset > start);
        if let (Some(at), Some(after)) = (gap_at, first_after) {
            // The hole exists once data after it arrived; it then has to persist 64 segments.
            assert!(at >= after + 64, "seed {seed}: gap at segment {at}, data resumed at {after}");
            found_early += 1;
        }
    }
    // Conversations of ~400 segments: nearly every loss is resolved before the end.
    assert!(found_early > SEEDS * 3 / 4, "only {found_early} gaps found during the stream");
}

#[test]
fn tight_limits_keep_memory_bounded_and_output_true() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(6_000 + seed);
        let cfg = ConvConfig::random(&mut rng);
        let mut conv = testkit::conversation(&mut rng, &cfg);
        testkit::resegment(&mut rng, &mut conv, 20, 2 * cfg.max_seg);
        testkit::lose(&mut rng, &mut conv, 3);
        let window = rng.range(2, 16);
        testkit::reorder(&mut rng, &mut conv, window);
        let limits =
            Limits { max_buffered_per_direction: rng.range(0, 3_000), max_segments_per_direction: rng.range(0, 8) };
        // Harness checks the bounds after every segment.
        let h = run(&conv, limits);
        for d in 0..2 {
            let stream = &conv.streams[d];
            let mut pos = 0usize;
            for o in &h.got.dirs[d] {
                match o {
                    Out::Data(bytes) => {
                        assert!(
                            stream.get(pos..pos + bytes.len()) == Some(&bytes[..]),
                            "seed {seed}: wrong bytes at {pos}"
                        );
                        pos += bytes.len();
                    }
                    Out::Gap(n) => pos += *n as usize,
                    Out::End => assert_eq!(pos, stream.len(), "seed {seed}: End before the stream's end"),
                }
            }
            assert_eq!(h.got.dirs[d].last(), Some(&Out::End), "seed {seed}");
        }
    }
}

/// Feeding the same segments twice in a row (a capture seeing each packet on two interfaces)
/// changes nothing but the duplicate count.
#[test]
fn every_segment_seen_twice_changes_nothing() {
    for seed in 0..SEEDS / 3 {
        let mut rng = Rng::new(7_000 + seed);
        let cfg = ConvConfig::random(&mut rng);
        let mut conv = testkit::conversation(&mut rng, &cfg);
        conv.segments = conv.segments.iter().flat_map(|s| [s.clone(), s.clone()]).collect();
        let h = run(&conv, Limits::default());
        assert_output(&h, &conv, &no_loss(), &format!("seed {seed}"));
        assert_eq!(h.r.stats().duplicate_bytes, total_len(&conv));
    }
}
