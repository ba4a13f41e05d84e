//! Writing the corp secret safely, and printing auth info as a table.

use std::fs::{File, OpenOptions};
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use corp_auth::Secret;
use corp_auth::wecom::types::GetAuthInfoResponse;

/// Bytes written into the reserved file before the exchange, so the disk
/// space the answer needs is already allocated when it arrives.
const RESERVED_BYTES: usize = 4096;

/// A file reserved next to the target before the one-shot exchange: it
/// proves the directory is writable, and holds the space for the answer.
/// Removed on drop unless committed.
pub struct Reserved {
    tmp: PathBuf,
    file: File,
    target: PathBuf,
    committed: bool,
}

/// Refuses an existing target or an unwritable directory; reserves a
/// temporary file (mode 0600) in the target's directory otherwise.
pub fn reserve(target: &Path) -> Result<Reserved, String> {
    if target.symlink_metadata().is_ok() {
        return Err(format!("{} already exists; refusing to overwrite it", target.display()));
    }
    let name = target
        .file_name()
        .ok_or_else(|| format!("{} is not a file path", target.display()))?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&tmp)
        .map_err(|e| format!("cannot create a file in {}: {e}", dir.display()))?;
    let mut reserved = Reserved {
        tmp,
        file,
        target: target.to_path_buf(),
        committed: false,
    };
    reserved
        .file
        .write_all(&[0; RESERVED_BYTES])
        .and_then(|()| reserved.file.sync_all())
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    Ok(reserved)
}

impl Reserved {
    /// Writes the secret, fsyncs, and moves it to the target without ever
    /// replacing a file that appeared there meanwhile.
    pub fn commit(mut self, secret: &Secret) -> Result<(), String> {
        let value = secret.expose_secret().as_bytes();
        let write = |file: &mut File| -> std::io::Result<()> {
            file.seek(SeekFrom::Start(0))?;
            file.write_all(value)?;
            file.set_len(value.len() as u64)?;
            file.sync_all()
        };
        write(&mut self.file).map_err(|e| format!("cannot write {}: {e}", self.tmp.display()))?;
        // A hard link fails if the target exists; rename would replace it.
        // Past this point the secret is on disk: whatever fails, the
        // temporary file is kept rather than lose it.
        self.committed = true;
        std::fs::hard_link(&self.tmp, &self.target).map_err(|e| {
            format!(
                "cannot create {}: {e}; the corp_secret was saved in {} instead: move it there yourself",
                self.target.display(),
                self.tmp.display()
            )
        })?;
        let _ = std::fs::remove_file(&self.tmp);
        if let Some(dir) = self.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The auth info as readable tables: the corp, then its agents. Columns are
/// laid out by comfy-table, which measures display width (a Chinese
/// character takes two columns), with a separator between columns.
pub fn table(info: &GetAuthInfoResponse) -> String {
    use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

    let text = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).unwrap_or("-").to_string();
    let number = |n: Option<i64>| n.map_or("-".to_string(), |n| n.to_string());
    let new_table = || {
        let mut t = Table::new();
        // Never wrapped to a terminal's width: the same output everywhere.
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled);
        t
    };
    let corp = info.auth_corp_info.clone().unwrap_or_default();
    let mut corp_table = new_table();
    corp_table.set_header(vec!["corp", ""]);
    corp_table.add_rows([
        vec!["corpid".to_string(), text(&corp.corpid)],
        vec!["name".to_string(), text(&corp.corp_name)],
        vec!["type".to_string(), text(&corp.corp_type)],
        vec!["user limit".to_string(), number(corp.corp_user_max)],
        vec![
            "verified until".to_string(),
            corp.verified_end_time.map_or("-".to_string(), date),
        ],
    ]);
    let mut agents = new_table();
    agents.set_header(vec!["agent", "name", "privilege level"]);
    for agent in info.auth_info.iter().flat_map(|a| &a.agent) {
        let level = agent.privilege.as_ref().and_then(|p| p.level);
        let level = match level {
            Some(1) => "1 通讯录基本信息只读".to_string(),
            Some(2) => "2 通讯录全部信息只读".to_string(),
            Some(3) => "3 通讯录全部信息读写".to_string(),
            Some(4) => "4 单个基本信息只读".to_string(),
            Some(5) => "5 通讯录全部信息只写".to_string(),
            other => number(other),
        };
        agents.add_row(vec![number(agent.agentid), text(&agent.name), level]);
    }
    format!("{corp_table}\n{agents}\n")
}

/// Unix seconds → `YYYY-MM-DD` (UTC), by the civil-from-days algorithm.
fn date(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_from_unix_seconds() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(1_431_775_834), "2015-05-16");
        assert_eq!(super::date(951_782_400), "2000-02-29");
        assert_eq!(super::date(4_102_444_800), "2100-01-01");
    }
}
