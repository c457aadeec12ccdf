//! The crate's classic BPF (src/filter.rs) against spantap_filter.h's, verdict for verdict:
//! - real programs: every expression of Tests/Fixtures/filter/expressions.txt (the C filter
//!   tests' list) and a few more, compiled by tcpdump (`-ddd`, optimized and with `-O`
//!   unoptimized), run by both interpreters over the fixture's frames (filter_frames.c: IPv4
//!   with options and fragments, IPv6, ARP, VLAN and QinQ, truncated captures, runts) and
//!   mutations of them: every return value must be the same;
//! - random programs (the shapes Tests/Fixtures/filter/filter_fuzz.c makes: random bytes, known
//!   opcodes with operands near every limit, one-byte mutations): the Rust validator must give
//!   the C validator's verdict and offending instruction for each, and a program both accept
//!   must return the same value on every frame. The test builds with overflow checks, so a
//!   wrap the interpreter did not mean would panic here.
//!
//! The C side is tests/c/filter_oracle.c, compiled with `cc` against the header.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use spantap_producer::filter::{self, Insn, Program, Reason, code};

/// One frame as the filter sees it: the captured bytes and the length it had on the wire.
#[derive(Clone)]
struct Frame {
    bytes: Vec<u8>,
    wire_length: u32,
}

/// The C validator's verdict (SPANTAP_FILTER_*) and `where`, and, for a valid program, what
/// spantap_filter_run_captured returned per frame.
struct Answer {
    verdict: u32,
    at: u32,
    results: Vec<u32>,
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as u32
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// The fixture's frames, made once per test process (the tests run in parallel and would
/// otherwise write the same files at once).
fn fixture_frames() -> Vec<Frame> {
    static FRAMES: OnceLock<Vec<Frame>> = OnceLock::new();
    FRAMES.get_or_init(generate_fixture_frames).clone()
}

/// filter_frames.c writes the fixture's frames as a pcap file, read back here.
fn generate_fixture_frames() -> Vec<Frame> {
    let generator = common::cc::compile(&repository().join("Tests/Fixtures/filter/filter_frames.c"), "filter_frames");
    let pcap = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("filter_frames.pcap");
    let status = Command::new(&generator).arg(&pcap).arg("2400").status().unwrap();
    assert!(status.success(), "filter_frames");
    let bytes = std::fs::read(&pcap).unwrap();
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert!(matches!(word(0), 0xa1b2_c3d4 | 0xa1b2_3c4d) && word(20) == 1, "an Ethernet pcap file");
    let (mut frames, mut at) = (Vec::new(), 24);
    while at + 16 <= bytes.len() {
        let (captured, wire_length) = (word(at + 8) as usize, word(at + 12));
        frames.push(Frame { bytes: bytes[at + 16..at + 16 + captured].to_vec(), wire_length });
        at += 16 + captured;
    }
    assert_eq!(frames.len(), 2400);
    frames
}

/// The fixture's frames, and as many again: each a fixture frame with one to three bytes changed
/// or cut short, so loads meet values and ends no generator chose.
fn frames() -> Vec<Frame> {
    let fixture = fixture_frames();
    let mut rng = Rng(0x5350_414e_5441_5034);
    let mut frames = fixture.clone();
    for original in &fixture {
        let mut frame = original.clone();
        for _ in 0..=rng.below(3) {
            if !frame.bytes.is_empty() {
                let at = rng.below(frame.bytes.len().min(80) as u32) as usize;
                frame.bytes[at] = rng.next() as u8;
            }
        }
        if rng.below(4) == 0 {
            frame.bytes.truncate(rng.below(frame.bytes.len() as u32 + 1) as usize);
        }
        frames.push(frame);
    }
    frames
}

/// Runs the C oracle over `frames` for each of `programs` (raw instruction counts included:
/// empty and too long ones too).
fn ask_c(frames: &[Frame], programs: &[Vec<Insn>]) -> Vec<Answer> {
    static ORACLE: OnceLock<PathBuf> = OnceLock::new();
    let oracle = ORACLE.get_or_init(|| common::cc::compile(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/filter_oracle.c"), "filter_oracle"));
    let mut input = Vec::new();
    input.extend((frames.len() as u32).to_ne_bytes());
    for frame in frames {
        input.extend((frame.bytes.len() as u32).to_ne_bytes());
        input.extend(frame.wire_length.to_ne_bytes());
        input.extend(&frame.bytes);
    }
    for program in programs {
        input.extend((program.len() as u32).to_ne_bytes());
        for insn in program {
            input.extend(insn.code.to_ne_bytes());
            input.extend([insn.jt, insn.jf]);
            input.extend(insn.k.to_ne_bytes());
        }
    }
    // Through a file, so neither side of a pipe waits on the other.
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("filter_oracle_input_{}", programs.len()));
    std::fs::write(&path, input).unwrap();
    let output = Command::new(oracle).stdin(std::fs::File::open(&path).unwrap()).stderr(Stdio::inherit()).output().unwrap();
    assert!(output.status.success(), "filter_oracle: {:?}", output.status);
    let words: Vec<u32> = output.stdout.chunks_exact(4).map(|w| u32::from_ne_bytes(w.try_into().unwrap())).collect();
    let (mut answers, mut at) = (Vec::new(), 0);
    for _ in programs {
        let (verdict, where_) = (words[at], words[at + 1]);
        at += 2;
        let results = if verdict == 0 { words[at..at + frames.len()].to_vec() } else { Vec::new() };
        at += results.len();
        answers.push(Answer { verdict, at: where_, results });
    }
    assert_eq!(at, words.len(), "the oracle answered exactly once per program");
    answers
}

/// The Rust validator's verdict in the C numbering (SPANTAP_FILTER_VALID is 0, `where` 0).
fn rust_verdict(program: &[Insn]) -> (u32, u32) {
    match filter::validate(program) {
        Ok(()) => (0, 0),
        Err(refused) => (refused.reason as u32, refused.at as u32),
    }
}

/// `tcpdump -ddd -y EN10MB [-O] EXPRESSION`: the count, then `code jt jf k` per line.
fn tcpdump(expression: &str, optimize: bool) -> Vec<Insn> {
    let mut command = Command::new("tcpdump");
    if !optimize {
        command.arg("-O");
    }
    let output = command.args(["-ddd", "-y", "EN10MB", expression]).output().expect("tcpdump (the differential test compiles with it)");
    assert!(output.status.success(), "tcpdump -ddd {expression:?}: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let count: usize = lines.next().unwrap().trim().parse().unwrap();
    let program: Vec<Insn> = lines
        .map(|line| {
            let n: Vec<u32> = line.split_whitespace().map(|n| n.parse().unwrap()).collect();
            assert_eq!(n.len(), 4, "{expression:?}: {line:?}");
            Insn::new(n[0] as u16, n[1] as u8, n[2] as u8, n[3])
        })
        .collect();
    assert_eq!(program.len(), count, "{expression:?}");
    program
}

/// The C filter tests' expressions, and a few combinations more.
fn expressions() -> Vec<String> {
    let list = std::fs::read_to_string(repository().join("Tests/Fixtures/filter/expressions.txt")).unwrap();
    let mut expressions: Vec<String> =
        list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect();
    expressions.extend(
        ["not host 10.0.0.1 and not port 80", "vlan 100 and tcp[13] & 2 != 0", "ip6 and not udp portrange 5000-5010", "(icmp or icmp6) and len < 100"]
            .map(String::from),
    );
    expressions
}

#[test]
fn tcpdump_programs_give_the_same_results_in_rust_and_c_on_every_frame() {
    let frames = frames();
    let expressions = expressions();
    assert!(expressions.len() >= 20, "{} expressions", expressions.len());
    let programs: Vec<(String, Vec<Insn>)> = expressions
        .iter()
        .flat_map(|e| [(format!("{e} (optimized)"), tcpdump(e, true)), (format!("{e} (-O)"), tcpdump(e, false))])
        .collect();
    let answers = ask_c(&frames, &programs.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>());
    let mut one_sided = Vec::new();
    for ((name, program), answer) in programs.iter().zip(&answers) {
        assert_eq!((answer.verdict, answer.at), (0, 0), "{name}: the C validator refused tcpdump's program");
        let program = Program::new(program).unwrap_or_else(|refused| panic!("{name}: {refused}"));
        let mut accepted = 0;
        for (i, (frame, c)) in frames.iter().zip(&answer.results).enumerate() {
            let rust = program.run_captured(&frame.bytes, frame.wire_length);
            assert_eq!(rust, *c, "{name}, frame {i} ({} of {} bytes): Rust vs C", frame.bytes.len(), frame.wire_length);
            accepted += (rust != 0) as usize;
        }
        if accepted == 0 || accepted == frames.len() {
            one_sided.push(format!("{name}: {accepted} of {}", frames.len()));
        }
    }
    eprintln!("{} programs x {} frames agree; accepting all or none: {one_sided:?}", programs.len(), frames.len());
    // The frames are meant to exercise every expression both ways; a program that accepts all
    // or nothing tests little, so only a few may.
    assert!(one_sided.len() * 10 <= programs.len(), "too many programs see one verdict only: {one_sided:?}");
}

/// An operand interesting for `code` at `pc` of `count` (filter_fuzz.c's choice): mostly in
/// range, sometimes at a limit; `tame`: always in range (scratch words 0 and 1, which a tame
/// program stores first), so most such programs pass validation and reach the interpreter.
fn operand(rng: &mut Rng, code: u16, pc: usize, count: usize, tame: bool) -> u32 {
    let remaining = (count - pc - 1) as u32;
    match if tame { 9 } else { rng.below(8) } {
        0 => return rng.next(),
        1 => return u32::MAX - rng.below(8),
        2 => return 0xffff_f000 + rng.below(64), // Linux ancillary
        3 => return 0xffe0_0000 - rng.below(2),  // at and below SKF_LL_OFF
        _ => {}
    }
    match code {
        code::JA if tame => rng.below(remaining.max(1)),
        code::JA => rng.below(remaining + 1), // one beyond the end now and then
        code::LD_MEM | code::LDX_MEM | code::ST | code::STX => rng.below(if tame { 2 } else { 18 }),
        code::LSH_K | code::RSH_K | code::DIV_K | code::MOD_K if tame => 1 + rng.below(31),
        code::LSH_K | code::RSH_K | code::DIV_K | code::MOD_K => rng.below(34),
        _ => rng.below(160),
    }
}

const KNOWN: [u16; 49] = [
    code::LD_W_ABS, code::LD_H_ABS, code::LD_B_ABS, code::LD_W_IND, code::LD_H_IND, code::LD_B_IND, code::LD_IMM, code::LD_MEM,
    code::LD_LEN, code::LDX_IMM, code::LDX_MEM, code::LDX_LEN, code::LDX_MSH, code::ST, code::STX, code::ADD_K, code::SUB_K,
    code::MUL_K, code::DIV_K, code::OR_K, code::AND_K, code::LSH_K, code::RSH_K, code::NEG, code::MOD_K, code::XOR_K,
    code::ADD_X, code::SUB_X, code::MUL_X, code::DIV_X, code::OR_X, code::AND_X, code::LSH_X, code::RSH_X, code::MOD_X,
    code::XOR_X, code::JA, code::JEQ_K, code::JGT_K, code::JGE_K, code::JSET_K, code::JEQ_X, code::JGT_X, code::JGE_X,
    code::JSET_X, code::RET_K, code::RET_A, code::TAX, code::TXA,
];

fn random_program(rng: &mut Rng, i: usize) -> Vec<Insn> {
    let count = match i % 7 {
        0 => rng.below(filter::MAX_INSNS as u32 + 10) as usize, // 0, and past the longest
        _ => 1 + rng.below(40) as usize,
    };
    let tame = i % 3 == 2;
    let mut program = Vec::with_capacity(count);
    for pc in 0..count {
        let insn = if i % 3 == 1 {
            Insn::new(rng.next() as u16, rng.next() as u8, rng.next() as u8, rng.next())
        } else {
            let remaining = (count - pc - 1) as u32;
            let mut code = KNOWN[rng.below(KNOWN.len() as u32) as usize];
            if pc + 1 == count && (tame || rng.below(8) != 0) {
                code = if rng.below(2) == 0 { code::RET_K } else { code::RET_A };
            }
            // Stores first, so loads of scratch memory are sometimes (tame: always) allowed.
            if pc < 2 && pc + 1 < count && (tame || rng.below(3) == 0) {
                code = if rng.below(2) == 0 { code::ST } else { code::STX };
            }
            let in_range = tame || rng.below(16) != 0;
            let mut jump = || (if remaining != 0 && in_range { rng.below(remaining.min(256)) } else { rng.next() }) as u8;
            let (jt, jf) = (jump(), jump());
            let k = if tame && pc < 2 { pc as u32 } else { operand(rng, code, pc, count, tame) };
            Insn::new(code, jt, jf, k)
        };
        program.push(insn);
    }
    if i % 5 == 4 && !program.is_empty() {
        // One byte of the program changed.
        let at = rng.below(program.len() as u32) as usize;
        let mut words = program[at].to_words();
        let byte = rng.below(8) as usize;
        let mut bytes = [words[0].to_ne_bytes(), words[1].to_ne_bytes()].concat();
        bytes[byte] = rng.next() as u8;
        words = [u32::from_ne_bytes(bytes[..4].try_into().unwrap()), u32::from_ne_bytes(bytes[4..].try_into().unwrap())];
        program[at] = Insn::new(words[0] as u16, (words[0] >> 16) as u8, (words[0] >> 24) as u8, words[1]);
    }
    program
}

#[test]
fn random_programs_get_the_c_validators_verdict_and_the_c_interpreters_results() {
    const PROGRAMS: usize = 40_000;
    let mut frames: Vec<Frame> = frames().into_iter().step_by(75).collect();
    // Runts: shorter than any header a program looks for.
    frames.extend((0..6).map(|n| Frame { bytes: vec![0x45; n], wire_length: n as u32 }));
    let seed = 0x00c0_ffee_5eed_u64;
    let mut rng = Rng(seed);
    let programs: Vec<Vec<Insn>> = (0..PROGRAMS).map(|i| random_program(&mut rng, i)).collect();
    let answers = ask_c(&frames, &programs);
    let mut verdicts = [0usize; 16];
    let mut nonzero = 0;
    for (i, (program, answer)) in programs.iter().zip(&answers).enumerate() {
        let rust = rust_verdict(program);
        assert_eq!(rust, (answer.verdict, answer.at), "program {i} (seed {seed:#x}) {program:?}: Rust (verdict, where) vs C");
        verdicts[rust.0 as usize] += 1;
        let Ok(program) = Program::new(program) else { continue };
        for (f, (frame, c)) in frames.iter().zip(&answer.results).enumerate() {
            let result = program.run_captured(&frame.bytes, frame.wire_length);
            assert_eq!(result, *c, "program {i} (seed {seed:#x}) on frame {f}: Rust vs C");
            nonzero += (result != 0) as usize;
        }
    }
    eprintln!("{PROGRAMS} random programs over {} frames: verdicts {:?}, {nonzero} nonzero results", frames.len(), &verdicts[..11]);
    // The fuzz must reach the interpreter often and every rule of the validator.
    assert!(verdicts[0] >= PROGRAMS / 5, "only {} valid programs", verdicts[0]);
    assert!(nonzero > 0, "no valid program accepted a frame");
    for reason in [Reason::Empty, Reason::TooLong, Reason::UnknownOpcode, Reason::JumpOutOfRange, Reason::NoFinalReturn, Reason::BadScratchIndex,
        Reason::ScratchUnwritten, Reason::DivideByZero, Reason::BadShift, Reason::LinuxExtension] {
        assert!(verdicts[reason as usize] > 0, "no program was refused as {reason:?}");
    }
}
