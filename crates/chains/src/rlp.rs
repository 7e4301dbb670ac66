//! Recursive Length Prefix encoding (Ethereum Yellow Paper, appendix B), the wire form of
//! transactions. Only encoding is needed: we build and sign, nodes decode.

pub enum Item<'a> {
    Bytes(&'a [u8]),
    List(Vec<Item<'a>>),
}

fn length_prefix(len: usize, short: u8, long: u8, out: &mut Vec<u8>) {
    if len <= 55 {
        out.push(short + len as u8);
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        out.push(long + (be.len() - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
}

pub fn encode(item: &Item<'_>, out: &mut Vec<u8>) {
    match item {
        Item::Bytes(b) if b.len() == 1 && b[0] < 0x80 => out.push(b[0]),
        Item::Bytes(b) => {
            length_prefix(b.len(), 0x80, 0xb7, out);
            out.extend_from_slice(b);
        }
        Item::List(items) => {
            let mut body = Vec::new();
            for i in items {
                encode(i, &mut body);
            }
            length_prefix(body.len(), 0xc0, 0xf7, out);
            out.extend_from_slice(&body);
        }
    }
}

/// A big-endian integer without leading zeros (zero is the empty string), as RLP wants.
pub fn uint(v: u128) -> Vec<u8> {
    let be = v.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    be[skip..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(i: &Item<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        encode(i, &mut out);
        out
    }

    #[test]
    fn yellow_paper_examples() {
        assert_eq!(enc(&Item::Bytes(b"dog")), [0x83, b'd', b'o', b'g']);
        assert_eq!(
            enc(&Item::List(vec![Item::Bytes(b"cat"), Item::Bytes(b"dog")])),
            [0xc8, 0x83, b'c', b'a', b't', 0x83, b'd', b'o', b'g']
        );
        assert_eq!(enc(&Item::Bytes(b"")), [0x80]);
        assert_eq!(enc(&Item::List(vec![])), [0xc0]);
        assert_eq!(enc(&Item::Bytes(&uint(0))), [0x80]);
        assert_eq!(enc(&Item::Bytes(&uint(15))), [0x0f]);
        assert_eq!(enc(&Item::Bytes(&uint(1024))), [0x82, 0x04, 0x00]);
        let long = [b'a'; 56];
        let e = enc(&Item::Bytes(&long));
        assert_eq!(&e[..2], &[0xb8, 56]);
    }
}
