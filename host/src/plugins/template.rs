//! `mentortrack plugin new`: writes a self-contained plugin project (its own copy of the SDK
//! and contract, as built into this binary from the repository's sources) that builds and
//! passes its tests at once.

use std::path::Path;

use anyhow::Context;

include!(concat!(env!("OUT_DIR"), "/plugin_template.rs"));

/// The plugin id rules of the host's upload check, applied before anything is written.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    anyhow::ensure!(
        ok,
        "{name:?} is not a plugin id: use lowercase letters, digits and '-', starting with a letter"
    );
    Ok(())
}

pub fn create(dir: &Path, name: &str, publisher: &str) -> anyhow::Result<()> {
    check_name(name)?;
    anyhow::ensure!(
        !publisher.is_empty()
            && publisher
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{publisher:?} is not an organisation code"
    );
    anyhow::ensure!(
        !dir.exists()
            || dir
                .read_dir()
                .map(|mut d| d.next().is_none())
                .unwrap_or(false),
        "{} already exists and is not empty",
        dir.display()
    );
    let crate_name = name.replace('-', "_");
    for (path, contents, substitute) in PLUGIN_TEMPLATE_FILES {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let text = if *substitute {
            contents
                .replace("{{name}}", name)
                .replace("{{crate_name}}", &crate_name)
                .replace("{{publisher}}", publisher)
        } else {
            (*contents).to_string()
        };
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_names_and_non_empty_directories() {
        assert!(check_name("safe-childbirth").is_ok());
        assert!(check_name("Safe").is_err());
        assert!(check_name("1st").is_err());
        assert!(check_name("a b").is_err());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x"), "").unwrap();
        assert!(create(dir.path(), "fine", "RAM").is_err());
    }

    #[test]
    fn writes_every_file_with_placeholders_filled() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("safe-childbirth");
        create(&project, "safe-childbirth", "RPA").unwrap();
        for (path, _, _) in PLUGIN_TEMPLATE_FILES {
            let text = std::fs::read_to_string(project.join(path)).unwrap();
            assert!(
                !text.contains("{{name}}") && !text.contains("{{publisher}}"),
                "{path} keeps a placeholder"
            );
        }
        let cargo = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("safe-childbirth"), "{cargo}");
    }
}
