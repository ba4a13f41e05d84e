//! Lowercase hex, for digests (SHA-1 signatures, SHA-256 fingerprints).

/// `bytes` as lowercase hex.
pub(crate) fn lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}
