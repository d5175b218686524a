//! Input cut into operations on both directions of a connection, shared by the stream fuzz
//! targets (http1, http2_frames, http2_session): each operation is a control byte `dkkllll l` —
//! d (bit 7): direction; kk (bits 5-6): 0-1 data, 2 gap, 3 end of direction; l (bits 0-4): size.

use node_agent::dissect::Direction;

pub enum Op<'a> {
    Data(Direction, &'a [u8]),
    Gap(Direction, u64),
    End(Direction),
}

pub fn ops(mut input: &[u8]) -> Vec<Op<'_>> {
    let mut ops = Vec::new();
    while let Some((&op, rest)) = input.split_first() {
        let dir = if op & 0x80 == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        let size = (op & 0x1f) as usize;
        input = rest;
        match (op >> 5) & 3 {
            0 | 1 => {
                let n = (1 + size * size * 4).min(input.len());
                let (data, rest) = input.split_at(n);
                ops.push(Op::Data(dir, data));
                input = rest;
            }
            2 => ops.push(Op::Gap(dir, 1 + (size * size * 16) as u64)),
            _ => ops.push(Op::End(dir)),
        }
    }
    ops
}
