//! Request bodies as Sentry SDKs compress them: sentry-python sends brotli
//! (`br`) when the `brotli` module is installed and gzip otherwise, other
//! SDKs deflate (zlib) or nothing.

use std::io::Read;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    #[error("body exceeds the limit of {0} bytes after decompression")]
    TooLarge(usize),
    #[error("{encoding} body could not be decompressed: {reason}")]
    Corrupt { encoding: &'static str, reason: String },
    #[error("unsupported content encoding {0:?}: use gzip, deflate, br or none")]
    Unsupported(String),
}

/// The body decompressed per `Content-Encoding` (case-insensitive; empty
/// or `identity` means none), refused once it would exceed `limit` bytes,
/// so a small bomb cannot fill memory.
pub fn decompress(encoding: &str, raw: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
    let encoding = encoding.trim().to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => {
            if raw.len() > limit {
                return Err(DecompressError::TooLarge(limit));
            }
            Ok(raw.to_vec())
        }
        "gzip" | "x-gzip" => read_capped(flate2::read::GzDecoder::new(raw), "gzip", limit),
        // HTTP's `deflate` is zlib-wrapped, but some clients send raw deflate.
        "deflate" => match read_capped(flate2::read::ZlibDecoder::new(raw), "deflate", limit) {
            Err(DecompressError::Corrupt { .. }) => {
                read_capped(flate2::read::DeflateDecoder::new(raw), "deflate", limit)
            }
            zlib => zlib,
        },
        "br" => read_capped(brotli_decompressor::Decompressor::new(raw, BROTLI_BUFFER), "br", limit),
        _ => Err(DecompressError::Unsupported(encoding)),
    }
}

/// The brotli reader's input buffer, the size its own examples use.
const BROTLI_BUFFER: usize = 4096;

fn read_capped(reader: impl Read, encoding: &'static str, limit: usize) -> Result<Vec<u8>, DecompressError> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecompressError::Corrupt { encoding, reason: e.to_string() })?;
    if out.len() > limit {
        return Err(DecompressError::TooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write;

    use super::*;

    const GZIPPED: &[u8] = include_bytes!("../tests/fixtures/python_logging.envelope.gz");
    const PLAIN: &[u8] = include_bytes!("../tests/fixtures/python_logging.envelope");

    #[test]
    fn gzip_as_sentry_python_sends_it() {
        assert_eq!(decompress("gzip", GZIPPED, 1 << 20).unwrap(), PLAIN);
    }

    #[test]
    fn deflate_zlib_and_raw() {
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(PLAIN).unwrap();
        assert_eq!(decompress("deflate", &zlib.finish().unwrap(), 1 << 20).unwrap(), PLAIN);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(PLAIN).unwrap();
        assert_eq!(decompress("Deflate", &raw.finish().unwrap(), 1 << 20).unwrap(), PLAIN);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(PLAIN).unwrap();
        let big = zlib.finish().unwrap();
        assert_eq!(
            decompress("deflate", &big, 100),
            Err(DecompressError::TooLarge(100)),
            "not retried as raw"
        );
    }

    #[test]
    fn brotli_as_sentry_python_sends_it_with_the_brotli_module() {
        let compressed = include_bytes!("../tests/fixtures/python_message.envelope.br");
        let plain = include_bytes!("../tests/fixtures/python_message.envelope");
        assert_eq!(decompress("br", compressed, 1 << 20).unwrap(), plain);
        assert_eq!(decompress("br", compressed, 100), Err(DecompressError::TooLarge(100)));
        assert!(matches!(decompress("br", b"not brotli at all", 100), Err(DecompressError::Corrupt { .. })));
    }

    #[test]
    fn limits_corruption_and_unknown_encodings() {
        assert_eq!(decompress("gzip", GZIPPED, 100), Err(DecompressError::TooLarge(100)));
        assert_eq!(decompress("", PLAIN, 100), Err(DecompressError::TooLarge(100)));
        assert!(matches!(decompress("gzip", b"not gzip", 100), Err(DecompressError::Corrupt { .. })));
        assert_eq!(decompress("zstd", PLAIN, 1 << 20), Err(DecompressError::Unsupported("zstd".into())));
        assert_eq!(decompress("identity", PLAIN, 1 << 20).unwrap(), PLAIN);
    }
}
