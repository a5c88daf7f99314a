//! The subset of lib0's binary encoding that the protocol uses: unsigned varints,
//! length-prefixed byte arrays and strings.

use bytes::{BufMut, Bytes};

use crate::DecodeError;

/// A cursor over a borrowed buffer; every read checks bounds.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Position of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn read_u8(&mut self) -> Result<u8, DecodeError> {
        let byte = *self.buf.get(self.pos).ok_or(DecodeError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(byte)
    }

    /// lib0 `readVarUint`: 7 bits per byte, little-endian groups, high bit = continue.
    pub fn read_var_uint(&mut self) -> Result<u64, DecodeError> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let byte = self.read_u8()?;
            if shift >= 64 || (shift == 63 && byte & 0x7e != 0) {
                return Err(DecodeError::VarIntOverflow);
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// lib0 `readVarUint8Array`: a varint length followed by that many bytes.
    pub fn read_var_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.read_var_uint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::UnexpectedEnd)?;
        if len > self.remaining() {
            return Err(DecodeError::UnexpectedEnd);
        }
        let start = self.pos;
        self.pos += len;
        Ok(&self.buf[start..self.pos])
    }

    /// Skip `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::UnexpectedEnd);
        }
        self.pos += n;
        Ok(())
    }

    /// Skip a lib0 signed varint (`readVarInt`): the same continuation bit as unsigned.
    pub fn skip_var_int(&mut self) -> Result<(), DecodeError> {
        for _ in 0..10 {
            if self.read_u8()? & 0x80 == 0 {
                return Ok(());
            }
        }
        Err(DecodeError::VarIntOverflow)
    }

    /// lib0 `readVarString`: UTF-8 bytes with a varint length.
    pub fn read_var_str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.read_var_bytes()?).map_err(|_| DecodeError::InvalidUtf8)
    }
}

/// Growable output buffer with lib0 encoders.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn with_capacity(capacity: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(capacity),
        }
    }

    pub fn write_u8(&mut self, byte: u8) {
        self.buf.push(byte);
    }

    pub fn write_var_uint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.put_u8((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.buf.put_u8(value as u8);
    }

    pub fn write_var_bytes(&mut self, bytes: &[u8]) {
        self.write_var_uint(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    pub fn write_var_str(&mut self, s: &str) {
        self.write_var_bytes(s.as_bytes());
    }

    pub fn into_bytes(self) -> Bytes {
        Bytes::from(self.buf)
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_uint_round_trips_at_the_edges() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut w = Writer::default();
            w.write_var_uint(value);
            let bytes = w.into_vec();
            let mut r = Reader::new(&bytes);
            assert_eq!(r.read_var_uint(), Ok(value));
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn overlong_var_uint_is_rejected() {
        let bytes = [0xff; 11];
        assert_eq!(
            Reader::new(&bytes).read_var_uint(),
            Err(DecodeError::VarIntOverflow)
        );
    }

    #[test]
    fn byte_array_longer_than_buffer_is_rejected() {
        let bytes = [5, 1, 2];
        assert_eq!(
            Reader::new(&bytes).read_var_bytes(),
            Err(DecodeError::UnexpectedEnd)
        );
    }
}
