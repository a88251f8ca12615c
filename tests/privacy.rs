//! Personal data planted in deliveries never reaches the lake, a report or a log line: every
//! output file (Parquet, response.csv, the JSON and HTML reports of `run` and `check`), the
//! whole log and `check`'s output are searched for every planted value.

use std::fs;
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Values that must never appear anywhere: e-mail addresses, a postcode, a BSN that passes the
/// eleven-test, a phone number, an IBAN, a name and an open answer.
const PLANTED: [&str; 9] = [
    "jan.de.vries@example.nl",
    "p.bakker@example.org",
    "1234 AB",
    "9876ZX",
    "111222333",
    "06-12345678",
    "NL91ABNA0417164300",
    "Geertruida Pietersma",
    "Mijn buurman parkeert altijd op de stoep",
];

fn search(dir: &Path, found: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            search(&path, found);
            continue;
        }
        let bytes = fs::read(&path).unwrap();
        for value in PLANTED {
            if bytes.windows(value.len()).any(|w| w == value.as_bytes()) {
                found.push(format!("{value:?} in {}", path.display()));
            }
        }
    }
}

#[test]
fn planted_personal_values_reach_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    fs::create_dir(&inbox).unwrap();
    // Named columns (e-mail, naam, postcode ch08, open answer wl10), and personal values hidden
    // in dataformat columns and in a column with an innocent name.
    fs::write(
        inbox.join("BP-2021-2-Utrecht.csv"),
        "respondent;gemnr;jr;wl11;wl01;ch02;ch08;wl10;email;naam;kenmerk;wijknr\n\
         111222333;344;2021;2;8;3;1234 AB;Mijn buurman parkeert altijd op de stoep;jan.de.vries@example.nl;Geertruida Pietersma;NL91ABNA0417164300;1\n\
         123456782;344;2021;2;7;4;9876ZX;;p.bakker@example.org;;NL91ABNA0417164300;2\n\
         100000009;344;2021;1;6;5;;;;;;3\n",
    )
    .unwrap();
    // Phone numbers in a questionnaire column, e-mail addresses in the respondent column.
    fs::write(
        inbox.join("BP-2023-1-Utrecht.csv"),
        "respondent;gemnr;jr;wl02_2;wl01;ch02\n\
         jan.de.vries@example.nl;344;2023;06-12345678;8;3\n\
         p.bakker@example.org;344;2023;1;7;2\n",
    )
    .unwrap();
    let lake = dir.path().join("lake");
    let out = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"))
        .current_dir(ROOT)
        .args(["--log-format", "json", "-vvv", "--progress", "never", "run", "--inbox"])
        .arg(&inbox)
        .arg("--population")
        .arg(ROOT.to_string() + "/config/population")
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--lake")
        .arg(&lake)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}");
    assert!(lake.join("respondents/jaar=2021/part-0000.parquet").exists());
    assert!(lake.join("respondents/jaar=2023/part-0000.parquet").exists());

    assert!(lake.join("reports/runs").is_dir() && lake.join("reports/deliveries").is_dir());

    // `check` with reports: stdout (text and JSON) and the report files.
    let reports = dir.path().join("check-reports");
    let mut checked = String::new();
    for format in ["text", "json"] {
        let out = Command::new(env!("CARGO_BIN_EXE_burgerpeiling"))
            .current_dir(ROOT)
            .args(["--progress", "never", "check", "--format", format, "--report"])
            .arg(&reports)
            .arg(inbox.join("BP-2021-2-Utrecht.csv"))
            .arg(inbox.join("BP-2023-1-Utrecht.csv"))
            .output()
            .unwrap();
        checked += &String::from_utf8_lossy(&out.stdout);
        checked += &String::from_utf8_lossy(&out.stderr);
    }
    assert!(checked.contains("harmonise.personal-data-found"), "{checked}");

    let mut found = Vec::new();
    search(&lake, &mut found);
    search(&reports, &mut found);
    for value in PLANTED {
        if checked.contains(value) {
            found.push(format!("{value:?} in check's output"));
        }
    }
    for value in PLANTED {
        if log.contains(value) {
            found.push(format!("{value:?} in the log"));
        }
    }
    assert!(found.is_empty(), "personal data leaked: {found:#?}");
    // The log says what was dropped, by column and kind.
    for rule in ["harmonise.personal-data-column", "harmonise.personal-data-found", "harmonise.column-excluded"] {
        assert!(log.contains(rule), "{rule} missing from the log");
    }
}
