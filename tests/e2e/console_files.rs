//! The console's own files through the real binary: a bad `config.toml` is
//! refused naming file, line and field; a bad theme is a warning plus the
//! defaults; neither panics, and neither does a console with no terminal.
//! And the log file every command writes is private.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::rune;

/// Runs the console with no terminal (and colour, so themes apply);
/// returns exit code and stderr.
fn console(home: &Path, args: &[&str]) -> (i32, String) {
    let out = rune(home)
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

fn config_dir(home: &Path) -> std::path::PathBuf {
    let dir = home.join("config/rune");
    std::fs::create_dir_all(dir.join("themes")).unwrap();
    dir
}

#[rstest::rstest]
#[case::wrong_type(b"\n\ntheme = 5\n".to_vec(), "config.toml:3:9: invalid type: integer `5`, expected a string (field `theme`)")]
#[case::unknown_field(b"theme = \"dark\"\ncolour = \"red\"\n".to_vec(), "config.toml:2:1: unknown field `colour`")]
#[case::malformed(b"theme = \"dark\n".to_vec(), "config.toml:1:")]
#[case::not_utf8(b"# fine\ntheme = \"\xff\"\n".to_vec(), "config.toml:2: is not UTF-8")]
#[case::huge(vec![b'#'; 64 * 1024 + 1], "config.toml: is 65537 bytes; at most 65536 are read")]
fn a_bad_config_is_refused_naming_file_line_and_field(
    #[case] bytes: Vec<u8>,
    #[case] expected: &str,
) {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(config_dir(home.path()).join("config.toml"), bytes).unwrap();
    let (code, stderr) = console(home.path(), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
}

#[rstest::rstest]
#[case::bad_colour(b"[ok]\nfg = \"green\"\n[risk_high]\nfg = \"blurple\"\n".to_vec(), "bad.toml:4:6: risk_high: \"blurple\" is not a colour")]
#[case::unknown_role(b"[ok]\nfg = \"green\"\n\n[risk_hihg]\nbold = true\n".to_vec(), "bad.toml:4: unknown role `risk_hihg`")]
#[case::unknown_field(b"[ok]\nfgg = \"green\"\n".to_vec(), "bad.toml:2:1: unknown field `fgg`")]
#[case::wrong_type(b"[ok]\nbold = \"yes\"\n".to_vec(), "bad.toml:2:8: invalid type: string \"yes\", expected a boolean (field `bold`)")]
#[case::not_utf8(b"[ok]\nfg = \"gr\xe9en\"\n".to_vec(), "bad.toml:2: is not UTF-8")]
#[case::huge(vec![b'#'; 64 * 1024 + 1], "bad.toml: is 65537 bytes")]
fn a_bad_theme_is_a_warning_and_the_defaults(#[case] bytes: Vec<u8>, #[case] expected: &str) {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(config_dir(home.path()).join("themes/bad.toml"), bytes).unwrap();
    let (code, stderr) = console(home.path(), &["--theme", "bad"]);
    assert!(
        stderr.contains("rune: warning: theme ") && stderr.contains(expected),
        "{stderr}"
    );
    assert!(stderr.contains("; using the defaults"), "{stderr}");
    // Past the warning the console starts, and with no terminal says so.
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the console needs a terminal"), "{stderr}");
}

#[test]
fn an_operator_theme_in_the_config_dir_is_used_from_config_toml() {
    let home = tempfile::tempdir().unwrap();
    let dir = config_dir(home.path());
    std::fs::write(dir.join("config.toml"), "theme = \"mine\"\n").unwrap();
    std::fs::write(dir.join("themes/mine.toml"), "[ok]\nfg = \"nope\"\n").unwrap();
    let (_, stderr) = console(home.path(), &[]);
    assert!(
        stderr.contains("mine.toml:2:6: ok: \"nope\" is not a colour"),
        "{stderr}"
    );
}

#[test]
fn the_log_file_is_private_whatever_the_umask_and_however_it_was_left() {
    let home = tempfile::tempdir().unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let run = || {
        let out = rune(home.path())
            .args(["actions", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run();
    let dir = home.path().join("state/rune");
    let log = dir.join("rune.log");
    assert_eq!((mode(&dir), mode(&log)), (0o700, 0o600));
    // A log and folder left readable (an older version, a copy) are made private again.
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    run();
    assert_eq!((mode(&dir), mode(&log)), (0o700, 0o600));
}
