//! The node's secret key on disk: 64 hex digits and a newline, in a file
//! only its owner can read (mode 0600).

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use node_core::{Identity, SuiteKind};

/// Why a key file cannot be written or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Keygen never replaces a key: an identity lost is an address lost.
    #[error("{0}: already exists; refusing to overwrite a key file")]
    Exists(PathBuf),
    /// The file is missing.
    #[error("key file {0}: not found (create one with `meshnode keygen --out {0}`)")]
    Missing(PathBuf),
    /// Group or others may read or write the secret.
    #[error(
        "key file {path}: mode {mode:04o} lets others read it; it must be 0600 (chmod 600 {path})"
    )]
    Mode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The contents are not 64 hex digits of a valid secret.
    #[error("key file {0}: not a secret key (expected 64 hex digits)")]
    Malformed(PathBuf),
    /// Any other I/O failure.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// 32 bytes from the operating system's random source.
pub fn os_random() -> std::io::Result<[u8; 32]> {
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b)
}

/// Makes a fresh identity and writes its secret to `path` (mode 0600,
/// never over an existing file).
pub fn generate(path: &Path) -> Result<Identity, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let identity = loop {
        // A draw that is not a valid scalar (probability ~2^-128) is redrawn.
        if let Ok(id) = Identity::from_secret(SuiteKind::Real, os_random().map_err(io)?) {
            break id;
        }
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyFileError::Exists(path.to_owned())
            } else {
                io(e)
            }
        })?;
    let text = format!("{}\n", crate::hex::encode(&identity.secret().0));
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(identity)
}

/// Reads the identity stored at `path`, refusing a file others can read.
pub fn load(path: &Path) -> Result<Identity, KeyFileError> {
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            KeyFileError::Missing(path.to_owned())
        } else {
            KeyFileError::Io {
                path: path.to_owned(),
                source: e,
            }
        }
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Mode {
            path: path.to_owned(),
            mode,
        });
    }
    let text =
        std::fs::read_to_string(path).map_err(|_| KeyFileError::Malformed(path.to_owned()))?;
    let secret = crate::hex::decode::<32>(text.trim())
        .ok_or_else(|| KeyFileError::Malformed(path.to_owned()))?;
    Identity::from_secret(SuiteKind::Real, secret)
        .map_err(|_| KeyFileError::Malformed(path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("meshnode-keyfile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn generate_then_load_and_refusals() {
        let dir = temp("gen");
        let path = dir.join("a.key");
        let id = generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load(&path).unwrap().public_key(), id.public_key());
        assert!(matches!(generate(&path), Err(KeyFileError::Exists(_))));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&path).unwrap_err();
        assert!(matches!(e, KeyFileError::Mode { mode: 0o644, .. }), "{e}");
        assert!(e.to_string().contains("0644"));
        assert!(matches!(
            load(&dir.join("none.key")),
            Err(KeyFileError::Missing(_))
        ));
        let bad = dir.join("bad.key");
        std::fs::write(&bad, "not hex\n").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(load(&bad), Err(KeyFileError::Malformed(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
