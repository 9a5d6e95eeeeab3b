//! A minimal ustar writer and reader: files artifacts go into containers as tar
//! archives (`put_archive`) and come out of them the same way (`get_archive`).
//! Only regular files and directories are written; reading skips everything else.

use super::results::FileEntry;

const BLOCK: usize = 512;

fn octal_field(buf: &mut [u8], value: u64) {
    // Width-1 octal digits, then NUL.
    let width = buf.len() - 1;
    let s = format!("{value:0width$o}");
    let bytes = s.as_bytes();
    let start = bytes.len().saturating_sub(width);
    buf[..width].copy_from_slice(&bytes[start..]);
    buf[width] = 0;
}

fn header(name: &[u8], mode: u32, size: u64, kind: u8) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    octal_field(&mut h[100..108], u64::from(mode & 0o7777));
    octal_field(&mut h[108..116], 0);
    octal_field(&mut h[116..124], 0);
    octal_field(&mut h[124..136], size);
    octal_field(&mut h[136..148], 0);
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

fn pad(out: &mut Vec<u8>, len: usize) {
    out.extend(std::iter::repeat_n(0u8, (BLOCK - len % BLOCK) % BLOCK));
}

/// One entry; names over 100 bytes get a GNU long-name record first.
fn entry(out: &mut Vec<u8>, path: &str, mode: u32, content: &[u8], dir: bool) {
    let name = path.as_bytes();
    if name.len() > 100 {
        let mut long = name.to_vec();
        long.push(0);
        out.extend_from_slice(&header(b"././@LongLink", 0o644, long.len() as u64, b'L'));
        out.extend_from_slice(&long);
        pad(out, long.len());
    }
    let kind = if dir { b'5' } else { b'0' };
    out.extend_from_slice(&header(name, mode, content.len() as u64, kind));
    out.extend_from_slice(content);
    pad(out, content.len());
}

/// A tar archive holding `files` (paths relative to the archive root), with every
/// parent directory.
pub fn write(files: &[FileEntry]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut dirs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for f in files {
        let path = f.path.trim_start_matches('/');
        let mut acc = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for p in &parts[..parts.len().saturating_sub(1)] {
            if p.is_empty() {
                continue;
            }
            acc.push_str(p);
            acc.push('/');
            if dirs.insert(acc.clone()) {
                entry(&mut out, &acc, 0o755, &[], true);
            }
        }
        if path.is_empty() {
            return Err("a file with an empty path".into());
        }
        entry(&mut out, path, f.mode, &f.content, false);
    }
    out.extend(std::iter::repeat_n(0u8, BLOCK * 2));
    Ok(out)
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let s: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The regular files of a tar archive (GNU long names and pax path headers honoured),
/// sorted by path.
pub fn read(data: &[u8]) -> Result<Vec<FileEntry>, String> {
    let mut files = Vec::new();
    let mut pos = 0;
    let mut long_name: Option<String> = None;
    while pos + BLOCK <= data.len() {
        let h = &data[pos..pos + BLOCK];
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let size = parse_octal(&h[124..136]).ok_or("corrupt tar header (size)")? as usize;
        let mode = parse_octal(&h[100..108]).unwrap_or(0o644) as u32;
        let kind = h[156];
        let body_start = pos + BLOCK;
        let body_end = body_start
            .checked_add(size)
            .filter(|e| *e <= data.len())
            .ok_or("truncated tar archive")?;
        let body = &data[body_start..body_end];
        let mut name = cstr(&h[..100]);
        let prefix = cstr(&h[345..500]);
        if !prefix.is_empty() && &h[257..262] == b"ustar" {
            name = format!("{prefix}/{name}");
        }
        match kind {
            b'L' => long_name = Some(cstr(body)),
            b'x' => {
                let text = String::from_utf8_lossy(body);
                for line in text.lines() {
                    if let Some((_, kv)) = line.split_once(' ') {
                        if let Some(p) = kv.strip_prefix("path=") {
                            long_name = Some(p.to_string());
                        }
                    }
                }
            }
            b'0' | 0 => {
                let path = long_name.take().unwrap_or(name);
                files.push(FileEntry {
                    path: path.trim_start_matches("./").to_string(),
                    mode: mode & 0o7777,
                    content: body.to_vec(),
                });
            }
            _ => long_name = None,
        }
        pos = body_start + size.div_ceil(BLOCK) * BLOCK;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_files_with_long_paths() {
        let long = format!("{}/file.txt", "d".repeat(120));
        let files = vec![
            FileEntry {
                path: "a/b.txt".into(),
                mode: 0o644,
                content: b"hello".to_vec(),
            },
            FileEntry {
                path: long.clone(),
                mode: 0o755,
                content: vec![7; 1000],
            },
        ];
        let tar = write(&files).unwrap();
        assert_eq!(tar.len() % 512, 0);
        let back = read(&tar).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].path, "a/b.txt");
        assert_eq!(back[0].content, b"hello");
        assert_eq!(back[1].path, long);
        assert_eq!(back[1].mode, 0o755);
    }

    #[test]
    fn never_panics_on_garbage() {
        for n in [0usize, 1, 511, 512, 1024, 2000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
            let _ = read(&data);
        }
    }
}
