//! Bounds-checked reading and writing of network-order fields. Every decoder reads through a
//! [`Reader`] and every encoder writes through a [`Writer`], so running off the end of a buffer is
//! an [`Error`], never a panic.

use hato_core::Afi;

use crate::{Error, Result};

/// Reads network-order fields from a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Octets consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Octets left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread octets, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// Consumes and returns the next `n` octets.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Error::Truncated)?;
        let out = self.data.get(self.pos..end).ok_or(Error::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// Consumes `n` octets, ignoring them.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    /// Consumes the next `N` octets as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Consumes an address of family `A`.
    pub fn addr<A: Afi>(&mut self) -> Result<A::Addr> {
        A::addr_from_octets(self.bytes(A::ADDR_LEN)?).ok_or(Error::Truncated)
    }

    /// Consumes all remaining octets.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let out = self.rest();
        self.pos = self.data.len();
        out
    }
}

/// Writes network-order fields into a mutable byte slice.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Octets written so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Writes `data` at the current position.
    pub fn bytes(&mut self, data: &[u8]) -> Result<()> {
        let end = self.pos.checked_add(data.len()).ok_or(Error::BufferTooSmall)?;
        let dst = self.buf.get_mut(self.pos..end).ok_or(Error::BufferTooSmall)?;
        dst.copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    /// Writes `n` zero octets.
    pub fn zeros(&mut self, n: usize) -> Result<()> {
        let end = self.pos.checked_add(n).ok_or(Error::BufferTooSmall)?;
        let dst = self.buf.get_mut(self.pos..end).ok_or(Error::BufferTooSmall)?;
        dst.fill(0);
        self.pos = end;
        Ok(())
    }

    pub fn u8(&mut self, v: u8) -> Result<()> {
        self.bytes(&[v])
    }

    pub fn u16(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    /// Writes an address of family `A`.
    pub fn addr<A: Afi>(&mut self, addr: A::Addr) -> Result<()> {
        let end = self.pos.checked_add(A::ADDR_LEN).ok_or(Error::BufferTooSmall)?;
        let dst = self.buf.get_mut(self.pos..end).ok_or(Error::BufferTooSmall)?;
        if !A::write_addr(addr, dst) {
            return Err(Error::BufferTooSmall);
        }
        self.pos = end;
        Ok(())
    }

    /// Overwrites a 16-bit field at an absolute offset already written (e.g. a checksum).
    pub fn patch_u16(&mut self, offset: usize, v: u16) -> Result<()> {
        let end = offset.checked_add(2).ok_or(Error::BufferTooSmall)?;
        if end > self.pos {
            return Err(Error::BufferTooSmall);
        }
        self.buf[offset..end].copy_from_slice(&v.to_be_bytes());
        Ok(())
    }

    /// The octets written so far.
    pub fn written(&self) -> &[u8] {
        &self.buf[..self.pos]
    }
}

/// The octets an encoder writes into a zeroed buffer of `len` octets (its `buffer_len`): the
/// common body of every `to_bytes`.
pub(crate) fn encode_to_vec(len: usize, emit: impl FnOnce(&mut [u8]) -> Result<usize>) -> Result<Vec<u8>> {
    let mut buf = vec![0; len];
    let written = emit(&mut buf)?;
    buf.truncate(written);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hato_core::{V4, V6};

    #[test]
    fn reader_never_overruns() {
        let data = [1, 2, 3];
        let mut r = Reader::new(&data);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u16(), Err(Error::Truncated));
        assert_eq!(r.u8(), Ok(3));
        assert_eq!(r.u8(), Err(Error::Truncated));
        assert_eq!(r.bytes(usize::MAX), Err(Error::Truncated));
        assert!(r.is_empty());
    }

    #[test]
    fn writer_never_overruns() {
        let mut buf = [0u8; 5];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.addr::<V4>("198.18.0.1".parse().unwrap()), Ok(()));
        assert_eq!(w.u16(7), Err(Error::BufferTooSmall));
        assert_eq!(w.addr::<V6>("fd00::1".parse().unwrap()), Err(Error::BufferTooSmall));
        assert_eq!(w.patch_u16(4, 1), Err(Error::BufferTooSmall));
        assert_eq!(w.u8(9), Ok(()));
        assert_eq!(w.patch_u16(3, 0xabcd), Ok(()));
        assert_eq!(w.written(), &[198, 18, 0, 0xab, 0xcd]);
    }
}
