//! Classic BPF for producers: the validator and interpreter of spantap_filter.h, in Rust.
//!
//! spantapd compiles an operator's tcpdump expression with libpcap into classic BPF and writes it
//! into the ring's program table; a rule with a filter mirrors only the frames its program
//! accepts. The program comes from another process, so it is not trusted: [`validate`] checks it
//! once (by the rules of spantap_filter.h's top comment, which teaches the instruction set), and
//! only a [`Program`] that passed runs per frame. The machine: 32-bit A and X, scratch memory
//! M[0..15], packet loads big-endian; jumps go forward only, so every run ends.
//!
//! Validation refuses what the C validator refuses, with the same reason and the same offending
//! instruction: empty or too long, unknown codes, jumps beyond the end, a last instruction that is
//! not a return, scratch indices >= 16, a read of M[k] on a path where nothing stored M[k] first,
//! division/modulo by the constant 0, shifts by a constant >= 32, and loads at Linux's special
//! negative offsets (ancillary data a producer's frame does not have).
//!
//! The interpreter is total, whatever it is given: every packet load is bounds-checked (out of
//! range: the frame is rejected, as the kernel and libpcap do), X == 0 as a divisor rejects, a
//! shift by X >= 32 leaves 0, arithmetic wraps, and an instruction index past the end (which
//! validation rules out) ends the run with 0. Nothing here allocates, panics or enters the kernel.

use std::fmt;

use crate::abi::{self, generated as g};

/// One instruction: the layout of struct spantap_filter_insn, struct bpf_insn and struct
/// sock_filter, so libpcap's `bf_insns` (or `tcpdump -ddd` lines) map one to one.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    /// Conditional jump: skip this many instructions if the condition holds...
    pub jt: u8,
    /// ... and this many if it does not.
    pub jf: u8,
    /// The constant operand.
    pub k: u32,
}

impl Insn {
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    /// The instruction from the two words the program table holds it in (host byte order).
    pub(crate) fn from_words([first, k]: [u32; 2]) -> Insn {
        let [code_lo, code_hi, jt, jf] = first.to_ne_bytes();
        Insn { code: u16::from_ne_bytes([code_lo, code_hi]), jt, jf, k }
    }

    /// The inverse of `from_words`, for whoever writes a program table (tests, benchmarks).
    pub fn to_words(&self) -> [u32; 2] {
        let [code_lo, code_hi] = self.code.to_ne_bytes();
        [u32::from_ne_bytes([code_lo, code_hi, self.jt, self.jf]), self.k]
    }
}

/// The longest program a producer runs.
pub const MAX_INSNS: usize = abi::FILTER_MAX_INSNS;
/// Scratch memory words M[0..MEMWORDS].
pub const MEMWORDS: usize = g::SPANTAP_FILTER_MEMWORDS as usize;
/// Linux's special offsets (SKF_LL_OFF and above, including the ancillary loads at SKF_AD_OFF).
const LINUX_OFFSETS: u32 = g::SPANTAP_FILTER_LINUX_OFFSETS as u32;

const _: () = {
    assert!(std::mem::size_of::<Insn>() == 8 && std::mem::offset_of!(Insn, k) == 4);
    assert!(std::mem::offset_of!(Insn, jt) == 2 && std::mem::offset_of!(Insn, jf) == 3);
    // `stored` below is a u16 bit set of the scratch words.
    assert!(MEMWORDS == 16);
    assert!(g::SPANTAP_FILTER_LINUX_OFFSETS <= u32::MAX as u64 && g::SPANTAP_FILTER_LINUX_ANCILLARY >= g::SPANTAP_FILTER_LINUX_OFFSETS);
};

/// The instruction codes the validator accepts (spantap_filter.h's enum spantap_filter_code).
pub mod code {
    use crate::abi::generated as g;

    const fn code(value: u64) -> u16 {
        assert!(value <= u16::MAX as u64, "an instruction code does not fit 16 bits");
        value as u16
    }

    pub const LD_W_ABS: u16 = code(g::SPANTAP_BPF_LD_W_ABS);
    pub const LD_H_ABS: u16 = code(g::SPANTAP_BPF_LD_H_ABS);
    pub const LD_B_ABS: u16 = code(g::SPANTAP_BPF_LD_B_ABS);
    pub const LD_W_IND: u16 = code(g::SPANTAP_BPF_LD_W_IND);
    pub const LD_H_IND: u16 = code(g::SPANTAP_BPF_LD_H_IND);
    pub const LD_B_IND: u16 = code(g::SPANTAP_BPF_LD_B_IND);
    pub const LD_IMM: u16 = code(g::SPANTAP_BPF_LD_IMM);
    pub const LD_MEM: u16 = code(g::SPANTAP_BPF_LD_MEM);
    pub const LD_LEN: u16 = code(g::SPANTAP_BPF_LD_LEN);
    pub const LDX_IMM: u16 = code(g::SPANTAP_BPF_LDX_IMM);
    pub const LDX_MEM: u16 = code(g::SPANTAP_BPF_LDX_MEM);
    pub const LDX_LEN: u16 = code(g::SPANTAP_BPF_LDX_LEN);
    pub const LDX_MSH: u16 = code(g::SPANTAP_BPF_LDX_MSH);
    pub const ST: u16 = code(g::SPANTAP_BPF_ST);
    pub const STX: u16 = code(g::SPANTAP_BPF_STX);
    pub const ADD_K: u16 = code(g::SPANTAP_BPF_ADD_K);
    pub const SUB_K: u16 = code(g::SPANTAP_BPF_SUB_K);
    pub const MUL_K: u16 = code(g::SPANTAP_BPF_MUL_K);
    pub const DIV_K: u16 = code(g::SPANTAP_BPF_DIV_K);
    pub const OR_K: u16 = code(g::SPANTAP_BPF_OR_K);
    pub const AND_K: u16 = code(g::SPANTAP_BPF_AND_K);
    pub const LSH_K: u16 = code(g::SPANTAP_BPF_LSH_K);
    pub const RSH_K: u16 = code(g::SPANTAP_BPF_RSH_K);
    pub const NEG: u16 = code(g::SPANTAP_BPF_NEG);
    pub const MOD_K: u16 = code(g::SPANTAP_BPF_MOD_K);
    pub const XOR_K: u16 = code(g::SPANTAP_BPF_XOR_K);
    pub const ADD_X: u16 = code(g::SPANTAP_BPF_ADD_X);
    pub const SUB_X: u16 = code(g::SPANTAP_BPF_SUB_X);
    pub const MUL_X: u16 = code(g::SPANTAP_BPF_MUL_X);
    pub const DIV_X: u16 = code(g::SPANTAP_BPF_DIV_X);
    pub const OR_X: u16 = code(g::SPANTAP_BPF_OR_X);
    pub const AND_X: u16 = code(g::SPANTAP_BPF_AND_X);
    pub const LSH_X: u16 = code(g::SPANTAP_BPF_LSH_X);
    pub const RSH_X: u16 = code(g::SPANTAP_BPF_RSH_X);
    pub const MOD_X: u16 = code(g::SPANTAP_BPF_MOD_X);
    pub const XOR_X: u16 = code(g::SPANTAP_BPF_XOR_X);
    pub const JA: u16 = code(g::SPANTAP_BPF_JA);
    pub const JEQ_K: u16 = code(g::SPANTAP_BPF_JEQ_K);
    pub const JGT_K: u16 = code(g::SPANTAP_BPF_JGT_K);
    pub const JGE_K: u16 = code(g::SPANTAP_BPF_JGE_K);
    pub const JSET_K: u16 = code(g::SPANTAP_BPF_JSET_K);
    pub const JEQ_X: u16 = code(g::SPANTAP_BPF_JEQ_X);
    pub const JGT_X: u16 = code(g::SPANTAP_BPF_JGT_X);
    pub const JGE_X: u16 = code(g::SPANTAP_BPF_JGE_X);
    pub const JSET_X: u16 = code(g::SPANTAP_BPF_JSET_X);
    pub const RET_K: u16 = code(g::SPANTAP_BPF_RET_K);
    pub const RET_A: u16 = code(g::SPANTAP_BPF_RET_A);
    pub const TAX: u16 = code(g::SPANTAP_BPF_TAX);
    pub const TXA: u16 = code(g::SPANTAP_BPF_TXA);
}

const fn verdict(value: u64) -> u32 {
    assert!(value <= u32::MAX as u64);
    value as u32
}

/// Why `validate` refused a program (spantap_filter.h's enum spantap_filter_verdict, without
/// SPANTAP_FILTER_VALID: that is `Ok`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Empty = verdict(g::SPANTAP_FILTER_EMPTY),
    TooLong = verdict(g::SPANTAP_FILTER_TOO_LONG),
    UnknownOpcode = verdict(g::SPANTAP_FILTER_UNKNOWN_OPCODE),
    JumpOutOfRange = verdict(g::SPANTAP_FILTER_JUMP_OUT_OF_RANGE),
    NoFinalReturn = verdict(g::SPANTAP_FILTER_NO_FINAL_RETURN),
    BadScratchIndex = verdict(g::SPANTAP_FILTER_BAD_SCRATCH_INDEX),
    ScratchUnwritten = verdict(g::SPANTAP_FILTER_SCRATCH_UNWRITTEN),
    DivideByZero = verdict(g::SPANTAP_FILTER_DIVIDE_BY_ZERO),
    BadShift = verdict(g::SPANTAP_FILTER_BAD_SHIFT),
    LinuxExtension = verdict(g::SPANTAP_FILTER_LINUX_EXTENSION),
}

impl Reason {
    /// spantap_filter_verdict_text's words.
    pub fn text(self) -> &'static str {
        match self {
            Reason::Empty => "empty program",
            Reason::TooLong => "program longer than the maximum instruction count",
            Reason::UnknownOpcode => "unknown instruction code",
            Reason::JumpOutOfRange => "jump beyond the last instruction",
            Reason::NoFinalReturn => "last instruction is not a return",
            Reason::BadScratchIndex => "scratch memory index out of range",
            Reason::ScratchUnwritten => "scratch memory read before it is written",
            Reason::DivideByZero => "division by the constant 0",
            Reason::BadShift => "shift by 32 or more",
            Reason::LinuxExtension => "Linux-only ancillary or negative-offset load",
        }
    }
}

/// A refused program: why, and the index of the first offending instruction (0 for `Empty` and
/// `TooLong`), as spantap_filter_validate's `*where`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    pub reason: Reason,
    pub at: usize,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "filter program refused: {} (instruction {})", self.reason.text(), self.at)
    }
}

impl std::error::Error for Refused {}

/// Checks `program` once, as spantap_filter_validate does (same verdicts, same order, same
/// offending instruction). One pass in program order: jumps only go forward, so every
/// predecessor of an instruction is seen before it, and what every path into it has stored is
/// the AND of what its predecessors carry. Costs 768 bytes of stack.
pub fn validate(program: &[Insn]) -> Result<(), Refused> {
    use code::*;
    let refuse = |reason, at| Err(Refused { reason, at });
    if program.is_empty() {
        return refuse(Reason::Empty, 0);
    }
    if program.len() > MAX_INSNS {
        return refuse(Reason::TooLong, 0);
    }
    let count = program.len();
    // stored[i]: bit m set when every path reaching instruction i has stored M[m].
    let mut stored = [0u16; MAX_INSNS];
    let mut reached = [false; MAX_INSNS];
    reached[0] = true;
    // Indexing below cannot panic: pc < count <= MAX_INSNS, and every target was checked to be
    // below count before it is used.
    for (pc, insn) in program.iter().enumerate() {
        let remaining = (count - pc - 1) as u32; // instructions after this one
        if !reached[pc] {
            stored[pc] = 0xffff; // dead code: still checked, no memory facts to carry
        }
        let mut out = stored[pc];
        let k = insn.k;
        let mut targets = [0usize; 2];
        let mut successors = 0;
        let mut next = |offset: u32, successors: &mut usize| {
            targets[*successors] = pc + 1 + offset as usize;
            *successors += 1;
        };
        let problem = match insn.code {
            LD_W_ABS | LD_H_ABS | LD_B_ABS | LD_W_IND | LD_H_IND | LD_B_IND | LDX_MSH => {
                (k >= LINUX_OFFSETS).then_some(Reason::LinuxExtension)
            }
            LD_MEM | LDX_MEM => {
                if k as usize >= MEMWORDS {
                    Some(Reason::BadScratchIndex)
                } else {
                    (out & (1 << k) == 0).then_some(Reason::ScratchUnwritten)
                }
            }
            ST | STX => {
                if k as usize >= MEMWORDS {
                    Some(Reason::BadScratchIndex)
                } else {
                    out |= 1 << k;
                    None
                }
            }
            DIV_K | MOD_K => (k == 0).then_some(Reason::DivideByZero),
            LSH_K | RSH_K => (k >= 32).then_some(Reason::BadShift),
            LD_IMM | LD_LEN | LDX_IMM | LDX_LEN | ADD_K | SUB_K | MUL_K | OR_K | AND_K | NEG | XOR_K | ADD_X | SUB_X
            | MUL_X | DIV_X | OR_X | AND_X | LSH_X | RSH_X | MOD_X | XOR_X | TAX | TXA => None,
            JA => {
                if k >= remaining {
                    Some(Reason::JumpOutOfRange)
                } else {
                    next(k, &mut successors);
                    None
                }
            }
            JEQ_K | JGT_K | JGE_K | JSET_K | JEQ_X | JGT_X | JGE_X | JSET_X => {
                if insn.jt as u32 >= remaining || insn.jf as u32 >= remaining {
                    Some(Reason::JumpOutOfRange)
                } else {
                    next(insn.jt as u32, &mut successors);
                    next(insn.jf as u32, &mut successors);
                    None
                }
            }
            RET_K | RET_A => None,
            _ => Some(Reason::UnknownOpcode),
        };
        if let Some(reason) = problem {
            return refuse(reason, pc);
        }
        let is_return = matches!(insn.code, RET_K | RET_A);
        if pc + 1 == count {
            return if is_return { Ok(()) } else { refuse(Reason::NoFinalReturn, pc) };
        }
        let falls_through = !is_return && insn.code != JA && successors == 0;
        if falls_through {
            next(0, &mut successors);
        }
        for &target in &targets[..successors] {
            if reached[target] {
                stored[target] &= out;
            } else {
                reached[target] = true;
                stored[target] = out;
            }
        }
    }
    Ok(())
}

/// A program that passed `validate`: the only kind a producer runs.
#[derive(Clone, Copy, Debug)]
pub struct Program<'a> {
    insns: &'a [Insn],
}

impl<'a> Program<'a> {
    /// Validates `insns` (see `validate`).
    pub fn new(insns: &'a [Insn]) -> Result<Program<'a>, Refused> {
        validate(insns)?;
        Ok(Program { insns })
    }

    /// A program the caller validated before (the rule cache validates each copy it keeps).
    pub(crate) fn validated(insns: &'a [Insn]) -> Program<'a> {
        Program { insns }
    }

    pub fn instructions(&self) -> &'a [Insn] {
        self.insns
    }

    /// Whether the program accepts a whole frame (spantap_filter_run's "nonzero"): the
    /// producer's per-frame question.
    #[inline]
    pub fn accepts(&self, frame: &[u8]) -> bool {
        self.run(frame) != 0
    }

    /// The program's return value on a whole frame (wire length = captured length).
    #[inline]
    pub fn run(&self, frame: &[u8]) -> u32 {
        execute(self.insns, frame, u32::try_from(frame.len()).unwrap_or(u32::MAX))
    }

    /// The program's return value on the first bytes of a frame that was `wire_length` bytes
    /// long (spantap_filter_run_captured): loads see `captured` only, `len` is `wire_length`.
    #[inline]
    pub fn run_captured(&self, captured: &[u8], wire_length: u32) -> u32 {
        execute(self.insns, captured, wire_length)
    }
}

/// `N` bytes of the packet at `offset`, if they are all inside it.
#[inline(always)]
fn load<const N: usize>(packet: &[u8], offset: usize) -> Option<[u8; N]> {
    packet.get(offset..offset.checked_add(N)?)?.try_into().ok()
}

/// The interpreter (spantap_filter_run_captured). Total on any program: see the module comment.
#[inline]
fn execute(program: &[Insn], packet: &[u8], wire_length: u32) -> u32 {
    use code::*;
    let (mut a, mut x) = (0u32, 0u32);
    // Validation proved every read follows a write; zeroed anyway, so nothing can leak.
    let mut memory = [0u32; MEMWORDS];
    let mut pc = 0usize;
    loop {
        let Some(insn) = program.get(pc) else { return 0 };
        let k = insn.k;
        let indexed = (x as usize).wrapping_add(k as usize); // X + k without wrapping: usize is 64 bits
        pc += 1;
        let branch = |condition: bool| if condition { insn.jt as usize } else { insn.jf as usize };
        match insn.code {
            RET_K => return k,
            RET_A => return a,
            LD_W_ABS | LD_W_IND => match load::<4>(packet, if insn.code == LD_W_ABS { k as usize } else { indexed }) {
                Some(bytes) => a = u32::from_be_bytes(bytes),
                None => return 0,
            },
            LD_H_ABS | LD_H_IND => match load::<2>(packet, if insn.code == LD_H_ABS { k as usize } else { indexed }) {
                Some(bytes) => a = u16::from_be_bytes(bytes) as u32,
                None => return 0,
            },
            LD_B_ABS | LD_B_IND => match packet.get(if insn.code == LD_B_ABS { k as usize } else { indexed }) {
                Some(&byte) => a = byte as u32,
                None => return 0,
            },
            LDX_MSH => match packet.get(k as usize) {
                Some(&byte) => x = ((byte & 0xf) as u32) << 2,
                None => return 0,
            },
            LD_IMM => a = k,
            LD_MEM => a = memory.get(k as usize).copied().unwrap_or(0),
            LD_LEN => a = wire_length,
            LDX_IMM => x = k,
            LDX_MEM => x = memory.get(k as usize).copied().unwrap_or(0),
            LDX_LEN => x = wire_length,
            ST | STX => {
                if let Some(word) = memory.get_mut(k as usize) {
                    *word = if insn.code == ST { a } else { x };
                }
            }
            ADD_K => a = a.wrapping_add(k),
            SUB_K => a = a.wrapping_sub(k),
            MUL_K => a = a.wrapping_mul(k),
            OR_K => a |= k,
            AND_K => a &= k,
            XOR_K => a ^= k,
            ADD_X => a = a.wrapping_add(x),
            SUB_X => a = a.wrapping_sub(x),
            MUL_X => a = a.wrapping_mul(x),
            OR_X => a |= x,
            AND_X => a &= x,
            XOR_X => a ^= x,
            NEG => a = a.wrapping_neg(),
            // A zero divisor ends the run with 0 (by X: the run-time rule; by k: validation
            // refuses it, so this only keeps the interpreter total).
            DIV_K | DIV_X | MOD_K | MOD_X => {
                let divisor = if insn.code == DIV_K || insn.code == MOD_K { k } else { x };
                let result = if insn.code == DIV_K || insn.code == DIV_X { a.checked_div(divisor) } else { a.checked_rem(divisor) };
                match result {
                    Some(value) => a = value,
                    None => return 0,
                }
            }
            // A shift by 32 or more leaves 0 (by X: the run-time rule; by k: refused).
            LSH_K => a = a.checked_shl(k).unwrap_or(0),
            RSH_K => a = a.checked_shr(k).unwrap_or(0),
            LSH_X => a = a.checked_shl(x).unwrap_or(0),
            RSH_X => a = a.checked_shr(x).unwrap_or(0),
            TAX => x = a,
            TXA => a = x,
            JA => pc += k as usize,
            JEQ_K => pc += branch(a == k),
            JGT_K => pc += branch(a > k),
            JGE_K => pc += branch(a >= k),
            JSET_K => pc += branch(a & k != 0),
            JEQ_X => pc += branch(a == x),
            JGT_X => pc += branch(a > x),
            JGE_X => pc += branch(a >= x),
            JSET_X => pc += branch(a & x != 0),
            _ => return 0, // refused by validation
        }
    }
}

#[cfg(test)]
mod tests {
    use super::code::*;
    use super::*;

    fn i(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn::new(code, jt, jf, k)
    }

    fn refused(program: &[Insn]) -> Option<(Reason, usize)> {
        validate(program).err().map(|r| (r.reason, r.at))
    }

    #[test]
    fn validation_refuses_each_rule_at_the_offending_instruction() {
        let ret = i(RET_K, 0, 0, 1);
        assert_eq!(refused(&[]), Some((Reason::Empty, 0)));
        assert_eq!(refused(&[ret; MAX_INSNS + 1]), Some((Reason::TooLong, 0)));
        assert_eq!(refused(&[ret; MAX_INSNS]), None);
        assert_eq!(refused(&[i(LD_IMM, 0, 0, 0), i(0x0e, 0, 0, 0), ret]), Some((Reason::UnknownOpcode, 1)));
        assert_eq!(refused(&[i(JA, 0, 0, 1), ret]), Some((Reason::JumpOutOfRange, 0)));
        assert_eq!(refused(&[i(JEQ_K, 0, 1, 0), ret]), Some((Reason::JumpOutOfRange, 0)));
        assert_eq!(refused(&[i(JEQ_K, 0, 0, 0), ret]), None);
        assert_eq!(refused(&[ret, i(LD_IMM, 0, 0, 0)]), Some((Reason::NoFinalReturn, 1)));
        assert_eq!(refused(&[i(ST, 0, 0, 16), ret]), Some((Reason::BadScratchIndex, 0)));
        assert_eq!(refused(&[i(LDX_MEM, 0, 0, 3), ret]), Some((Reason::ScratchUnwritten, 0)));
        assert_eq!(refused(&[i(DIV_K, 0, 0, 0), ret]), Some((Reason::DivideByZero, 0)));
        assert_eq!(refused(&[i(MOD_K, 0, 0, 0), ret]), Some((Reason::DivideByZero, 0)));
        assert_eq!(refused(&[i(LSH_K, 0, 0, 32), ret]), Some((Reason::BadShift, 0)));
        assert_eq!(refused(&[i(LD_B_ABS, 0, 0, 0xfffff000), ret]), Some((Reason::LinuxExtension, 0)), "SKF_AD_OFF");
        assert_eq!(refused(&[i(LD_H_IND, 0, 0, 0xffe00000), ret]), Some((Reason::LinuxExtension, 0)), "SKF_LL_OFF");
        assert_eq!(refused(&[i(LD_W_ABS, 0, 0, 0xffdfffff), ret]), None, "just below: an ordinary (out-of-range) load");
    }

    /// M[k] must be stored on every path into a load of it, not just on one.
    #[test]
    fn a_scratch_read_needs_a_store_on_every_path() {
        let one_path = [i(JEQ_K, 0, 1, 0), i(ST, 0, 0, 2), i(LD_MEM, 0, 0, 2), i(RET_A, 0, 0, 0)];
        assert_eq!(refused(&one_path), Some((Reason::ScratchUnwritten, 2)));
        let both = [i(JEQ_K, 0, 2, 0), i(ST, 0, 0, 2), i(JA, 0, 0, 1), i(STX, 0, 0, 2), i(LD_MEM, 0, 0, 2), i(RET_A, 0, 0, 0)];
        assert_eq!(refused(&both), None);
        // Dead code is checked but carries no facts: what follows it only sees live paths.
        let dead = [i(JA, 0, 0, 1), i(LD_MEM, 0, 0, 5), i(RET_K, 0, 0, 0)];
        assert_eq!(refused(&dead), None);
        let after_dead = [i(JA, 0, 0, 1), i(ST, 0, 0, 5), i(LD_MEM, 0, 0, 5), i(RET_A, 0, 0, 0)];
        assert_eq!(refused(&after_dead), Some((Reason::ScratchUnwritten, 2)));
    }

    #[test]
    fn loads_are_big_endian_bounds_checked_and_indexed_without_wrapping() {
        let frame = [0x11, 0x22, 0x33, 0x44, 0x55];
        let run = |program: &[Insn]| Program::new(program).unwrap().run(&frame);
        assert_eq!(run(&[i(LD_W_ABS, 0, 0, 1), i(RET_A, 0, 0, 0)]), 0x2233_4455);
        assert_eq!(run(&[i(LD_W_ABS, 0, 0, 2), i(RET_K, 0, 0, 9)]), 0, "one byte short: rejected");
        assert_eq!(run(&[i(LD_H_ABS, 0, 0, 3), i(RET_A, 0, 0, 0)]), 0x4455);
        assert_eq!(run(&[i(LD_B_ABS, 0, 0, 5), i(RET_K, 0, 0, 9)]), 0);
        assert_eq!(run(&[i(LDX_IMM, 0, 0, u32::MAX), i(LD_B_IND, 0, 0, 2), i(RET_K, 0, 0, 9)]), 0, "X + k does not wrap to 1");
        assert_eq!(run(&[i(LDX_MSH, 0, 0, 4), i(TXA, 0, 0, 0), i(RET_A, 0, 0, 0)]), 20);
        assert_eq!(run(&[i(LD_LEN, 0, 0, 0), i(RET_A, 0, 0, 0)]), 5);
        let program = [i(LD_LEN, 0, 0, 0), i(RET_A, 0, 0, 0)];
        assert_eq!(Program::new(&program).unwrap().run_captured(&frame[..2], 1500), 1500, "len is the wire length");
    }

    #[test]
    fn division_by_x_zero_rejects_and_shifts_by_x_of_32_or_more_give_zero() {
        let run = |program: &[Insn]| Program::new(program).unwrap().run(&[]);
        assert_eq!(run(&[i(LD_IMM, 0, 0, 7), i(DIV_X, 0, 0, 0), i(RET_K, 0, 0, 1)]), 0);
        assert_eq!(run(&[i(LD_IMM, 0, 0, 7), i(MOD_X, 0, 0, 0), i(RET_K, 0, 0, 1)]), 0);
        assert_eq!(run(&[i(LD_IMM, 0, 0, 7), i(LDX_IMM, 0, 0, 32), i(LSH_X, 0, 0, 0), i(RET_A, 0, 0, 0)]), 0);
        assert_eq!(run(&[i(LD_IMM, 0, 0, 7), i(LDX_IMM, 0, 0, 1), i(LSH_X, 0, 0, 0), i(RET_A, 0, 0, 0)]), 14);
        assert_eq!(run(&[i(LD_IMM, 0, 0, 1), i(NEG, 0, 0, 0), i(RET_A, 0, 0, 0)]), u32::MAX);
        assert_eq!(run(&[i(LD_IMM, 0, 0, u32::MAX), i(ADD_K, 0, 0, 2), i(MUL_K, 0, 0, 3), i(RET_A, 0, 0, 0)]), 3, "wraps");
    }

    #[test]
    fn words_round_trip() {
        let insn = i(JSET_K, 3, 250, 0xdead_beef);
        assert_eq!(Insn::from_words(insn.to_words()), insn);
    }

    /// The interpreter on its own (no validation) over random programs, including every invalid
    /// kind: it must end, never panic (the tests build with overflow checks), whatever it runs.
    #[test]
    fn the_interpreter_is_total_on_programs_validation_would_refuse() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let frame: Vec<u8> = (0..80u8).collect();
        let mut program = [Insn::default(); 40];
        for _ in 0..50_000 {
            let length = (next() % 40) as usize + 1;
            for insn in &mut program[..length] {
                let word = next();
                *insn = Insn::from_words([word as u32, if word >> 60 == 0 { (word >> 32) as u32 } else { (word >> 32) as u32 % 96 }]);
            }
            std::hint::black_box(execute(&program[..length], &frame[..(next() % 81) as usize], 80));
        }
    }
}
