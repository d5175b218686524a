//! Classic BPF: instruction encoding and a tiny assembler that resolves forward jumps to labels and
//! refuses programs the kernel would refuse (out-of-range jumps, no final `ret`, too long).

/// One instruction, `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Instruction classes, sizes, modes, operations (<linux/bpf_common.h>, <linux/filter.h>).
pub(super) const LD: u16 = 0x00;
pub(super) const LDX: u16 = 0x01;
pub(super) const ST: u16 = 0x02;
pub(super) const ALU: u16 = 0x04;
pub(super) const JMP: u16 = 0x05;
pub(super) const RET: u16 = 0x06;
pub(super) const MISC: u16 = 0x07;
pub(super) const W: u16 = 0x00;
pub(super) const H: u16 = 0x08;
pub(super) const B: u16 = 0x10;
pub(super) const IMM: u16 = 0x00;
pub(super) const ABS: u16 = 0x20;
pub(super) const IND: u16 = 0x40;
pub(super) const MEM: u16 = 0x60;
pub(super) const MSH: u16 = 0xa0;
pub(super) const ADD: u16 = 0x00;
pub(super) const AND: u16 = 0x50;
pub(super) const LSH: u16 = 0x60;
pub(super) const JA: u16 = 0x00;
pub(super) const JEQ: u16 = 0x10;
pub(super) const JSET: u16 = 0x40;
pub(super) const K: u16 = 0x00;
pub(super) const X: u16 = 0x08;
pub(super) const TAX: u16 = 0x00;
pub(super) const TXA: u16 = 0x80;

/// `SKF_AD_OFF + SKF_AD_HATYPE`: loading this absolute offset yields the device's ARPHRD_* type.
pub(super) const AD_HATYPE: u32 = (-0x1000i32 + 28) as u32;
/// BPF_MAXINSNS.
pub(super) const MAX_INSNS: usize = 4096;
/// BPF_MEMWORDS: scratch memory cells.
pub(super) const MEM_WORDS: u32 = 16;

pub(super) fn class(code: u16) -> u16 {
    code & 0x07
}

/// A jump target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum To {
    /// The next instruction.
    Next,
    Label(Label),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Label(usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AsmError {
    /// A label was jumped to but never placed.
    Unplaced,
    /// A conditional jump farther than 255 instructions, or backwards.
    JumpOutOfRange {
        at: usize,
    },
    TooLong,
    NoFinalReturn,
    /// Scratch memory read before every path to it wrote it, or a cell out of range.
    BadMemory {
        at: usize,
    },
}

/// Builds a program; jumps name labels and are resolved by [`Asm::finish`].
#[derive(Default)]
pub(super) struct Asm {
    insns: Vec<Insn>,
    /// Per instruction: (jt, jf) targets for conditional jumps, or the JA target.
    targets: Vec<Option<(To, To)>>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    pub(super) fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Places `l` at the next instruction.
    pub(super) fn place(&mut self, l: Label) {
        self.labels[l.0] = Some(self.insns.len());
    }

    pub(super) fn stmt(&mut self, code: u16, k: u32) {
        self.insns.push(Insn { code, jt: 0, jf: 0, k });
        self.targets.push(None);
    }

    /// `jmp <op> #k, jt, jf`
    pub(super) fn jump(&mut self, op: u16, k: u32, jt: To, jf: To) {
        self.insns.push(Insn { code: JMP | op | K, jt: 0, jf: 0, k });
        self.targets.push(Some((jt, jf)));
    }

    /// Unconditional `ja` (32-bit offset).
    pub(super) fn goto(&mut self, l: Label) {
        self.insns.push(Insn { code: JMP | JA, jt: 0, jf: 0, k: 0 });
        self.targets.push(Some((To::Label(l), To::Next)));
    }

    pub(super) fn ret(&mut self, k: u32) {
        self.stmt(RET | K, k);
    }

    pub(super) fn finish(mut self) -> Result<Vec<Insn>, AsmError> {
        let resolve = |to: To, at: usize, labels: &[Option<usize>]| -> Result<usize, AsmError> {
            let target = match to {
                To::Next => at + 1,
                To::Label(l) => labels[l.0].ok_or(AsmError::Unplaced)?,
            };
            target.checked_sub(at + 1).ok_or(AsmError::JumpOutOfRange { at })
        };
        for (at, t) in self.targets.iter().enumerate() {
            let Some((jt, jf)) = *t else { continue };
            let insn = &mut self.insns[at];
            let jt = resolve(jt, at, &self.labels)?;
            if insn.code == JMP | JA {
                insn.k = u32::try_from(jt).map_err(|_| AsmError::JumpOutOfRange { at })?;
            } else {
                let jf = resolve(jf, at, &self.labels)?;
                insn.jt = u8::try_from(jt).map_err(|_| AsmError::JumpOutOfRange { at })?;
                insn.jf = u8::try_from(jf).map_err(|_| AsmError::JumpOutOfRange { at })?;
            }
        }
        validate(&self.insns)?;
        Ok(self.insns)
    }
}

/// The structural checks the kernel's `bpf_check_classic` makes, including its conservative
/// "scratch memory written before read on every path" analysis.
pub(super) fn validate(prog: &[Insn]) -> Result<(), AsmError> {
    if prog.is_empty() || prog.len() > MAX_INSNS {
        return Err(AsmError::TooLong);
    }
    for (at, i) in prog.iter().enumerate() {
        if class(i.code) == JMP {
            let far = if i.code == JMP | JA {
                at as u64 + 1 + u64::from(i.k)
            } else {
                at as u64 + 1 + u64::from(i.jt.max(i.jf))
            };
            if far >= prog.len() as u64 {
                return Err(AsmError::JumpOutOfRange { at });
            }
        }
    }
    match prog.last() {
        Some(i) if class(i.code) == RET => {}
        _ => return Err(AsmError::NoFinalReturn),
    }
    // One bit per scratch cell: written on every path to here.
    let mut masks = vec![u16::MAX; prog.len()];
    let mut valid: u16 = 0;
    for (at, i) in prog.iter().enumerate() {
        valid &= masks[at];
        let uses_mem = matches!(class(i.code), ST | 0x03) || i.code == LD | W | MEM || i.code == LDX | W | MEM;
        if uses_mem && i.k >= MEM_WORDS {
            return Err(AsmError::BadMemory { at });
        }
        match class(i.code) {
            ST | 0x03 => valid |= 1 << i.k,
            LD | LDX if i.code & 0xe0 == MEM && valid & (1 << i.k) == 0 => return Err(AsmError::BadMemory { at }),
            JMP => {
                // Bounds were checked above.
                if i.code == JMP | JA {
                    masks[at + 1 + i.k as usize] &= valid;
                } else {
                    masks[at + 1 + usize::from(i.jt)] &= valid;
                    masks[at + 1 + usize::from(i.jf)] &= valid;
                }
                valid = u16::MAX;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_forward_jumps() {
        let mut a = Asm::default();
        let yes = a.label();
        a.stmt(LD | H | ABS, 12);
        a.jump(JEQ, 0x800, To::Label(yes), To::Next);
        a.ret(0);
        a.place(yes);
        a.ret(100);
        let p = a.finish().unwrap();
        assert_eq!(p[1], Insn { code: JMP | JEQ | K, jt: 1, jf: 0, k: 0x800 });
    }

    #[test]
    fn refuses_bad_programs() {
        let mut a = Asm::default();
        let l = a.label();
        a.jump(JEQ, 1, To::Label(l), To::Next);
        a.ret(0);
        assert_eq!(a.finish(), Err(AsmError::Unplaced));

        let mut a = Asm::default();
        let far = a.label();
        a.jump(JEQ, 1, To::Label(far), To::Next);
        for _ in 0..300 {
            a.ret(0);
        }
        a.place(far);
        a.ret(1);
        assert_eq!(a.finish(), Err(AsmError::JumpOutOfRange { at: 0 }));

        let mut a = Asm::default();
        a.stmt(LD | H | ABS, 12);
        assert_eq!(a.finish(), Err(AsmError::NoFinalReturn));
        assert_eq!(validate(&[]), Err(AsmError::TooLong));

        // M[0] is written on one path only.
        let mut a = Asm::default();
        let skip = a.label();
        a.jump(JEQ, 1, To::Label(skip), To::Next);
        a.stmt(ST, 0);
        a.place(skip);
        a.stmt(LD | W | MEM, 0);
        a.ret(0);
        assert_eq!(a.finish(), Err(AsmError::BadMemory { at: 2 }));
    }
}
