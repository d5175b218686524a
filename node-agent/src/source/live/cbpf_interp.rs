//! Test-only classic BPF interpreter with the kernel's semantics for the instructions our filter
//! uses: loads past the end of the packet make the program return 0 (drop), and
//! `SKF_AD_OFF + SKF_AD_HATYPE` loads the device type.

use super::cbpf::{
    class, validate, Insn, ABS, ADD, AD_HATYPE, ALU, AND, B, H, IMM, IND, JA, JEQ, JMP, JSET, LD, LDX, LSH, MEM,
    MEM_WORDS, MISC, MSH, RET, ST, TAX, TXA, W,
};

/// The program's return value (0 = drop, otherwise bytes to keep), or why it could not run.
pub(super) fn run(prog: &[Insn], pkt: &[u8], hatype: u16) -> Result<u32, String> {
    validate(prog).map_err(|e| format!("invalid program: {e:?}"))?;
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; MEM_WORDS as usize];
    let mut pc = 0usize;
    let load = |at: u32, size: u16| -> Option<u32> {
        let at = at as usize;
        let n = match size {
            W => 4,
            H => 2,
            _ => 1,
        };
        let bytes = pkt.get(at..at.checked_add(n)?)?;
        Some(bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
    };
    loop {
        let i = *prog.get(pc).ok_or("ran off the end")?;
        pc += 1;
        let size = i.code & 0x18;
        let mode = i.code & 0xe0;
        match class(i.code) {
            LD => {
                a = match mode {
                    IMM => i.k,
                    MEM => mem[i.k as usize],
                    ABS if i.k == AD_HATYPE && size == W => u32::from(hatype),
                    ABS => match load(i.k, size) {
                        Some(v) => v,
                        None => return Ok(0),
                    },
                    IND => match load(x.wrapping_add(i.k), size) {
                        Some(v) => v,
                        None => return Ok(0),
                    },
                    _ => return Err(format!("unsupported ld {:#x}", i.code)),
                }
            }
            LDX => {
                x = match mode {
                    IMM => i.k,
                    MEM => mem[i.k as usize],
                    MSH if size == B => match load(i.k, B) {
                        Some(v) => 4 * (v & 0xf),
                        None => return Ok(0),
                    },
                    _ => return Err(format!("unsupported ldx {:#x}", i.code)),
                }
            }
            ALU => {
                let src = if i.code & 0x08 != 0 { x } else { i.k };
                a = match i.code & 0xf0 {
                    ADD => a.wrapping_add(src),
                    AND => a & src,
                    LSH => a.checked_shl(src).unwrap_or(0),
                    0x70 => a.checked_shr(src).unwrap_or(0),
                    op => return Err(format!("unsupported alu op {op:#x}")),
                }
            }
            JMP => {
                let src = if i.code & 0x08 != 0 { x } else { i.k };
                let taken = match i.code & 0xf0 {
                    JA => {
                        pc += i.k as usize;
                        continue;
                    }
                    JEQ => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    JSET => a & src != 0,
                    op => return Err(format!("unsupported jump {op:#x}")),
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            ST => mem[i.k as usize] = a,
            0x03 => mem[i.k as usize] = x,
            RET => return Ok(if i.code & 0x18 == 0x10 { a } else { i.k }),
            MISC => match i.code & 0xf8 {
                TAX => x = a,
                TXA => a = x,
                op => return Err(format!("unsupported misc {op:#x}")),
            },
            c => return Err(format!("unsupported class {c:#x}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::live::cbpf::{K, RET as R};

    #[test]
    fn interpreter_basics() {
        let ret = |k| Insn { code: R | K, jt: 0, jf: 0, k };
        let prog = [
            Insn { code: LD | H | ABS, jt: 0, jf: 0, k: 2 },
            Insn { code: JMP | JEQ, jt: 0, jf: 1, k: 0x0304 },
            ret(7),
            Insn { code: LDX | B | MSH, jt: 0, jf: 0, k: 0 },
            Insn { code: MISC | TXA, jt: 0, jf: 0, k: 0 },
            Insn { code: R | 0x10, jt: 0, jf: 0, k: 0 },
        ];
        assert_eq!(run(&prog, &[0, 0, 3, 4], 1), Ok(7));
        assert_eq!(run(&prog, &[0x46, 0, 3, 5], 1), Ok(24));
        assert_eq!(run(&prog, &[0x46], 1), Ok(0)); // short packet
    }
}
