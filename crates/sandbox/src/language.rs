//! Languages are data: a table giving, per language, the source file name, an optional
//! compile command, the run command and the host paths the runtime needs. The built-in
//! table (`languages.toml` beside this file) can be extended or overridden by a TOML file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::SandboxError;

const BUILTIN: &str = include_str!("languages.toml");

/// One entry of the table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// Table key (`python`, `c`, …); filled in from the TOML section name.
    #[serde(skip)]
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub extensions: Vec<String>,
    /// File name of the program in the work dir.
    pub source: String,
    /// Compile command, run in the sandbox under the compile limits.
    #[serde(default)]
    pub compile: Option<Vec<String>>,
    /// Run command.
    pub run: Vec<String>,
    /// Extra host paths mounted read-only at the same place.
    #[serde(default)]
    pub mounts: Vec<PathBuf>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A program that prints `hello`, run by `peercode doctor` to check the language.
    #[serde(default)]
    pub hello: Option<String>,
}

impl Language {
    /// Host paths this language needs that this host does not have (empty: usable).
    pub fn missing(&self) -> Vec<PathBuf> {
        let commands = self.compile.iter().chain([&self.run]);
        commands
            .filter_map(|argv| argv.first())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .chain(self.mounts.iter().cloned())
            .filter(|p| !p.exists())
            .collect()
    }

    fn validate(&self) -> Result<(), String> {
        let plain = !self.source.is_empty()
            && !self.source.contains('/')
            && self.source != "."
            && self.source != "..";
        if !plain {
            return Err(format!(
                "source `{}` must be a plain file name",
                self.source
            ));
        }
        if self.run.is_empty() {
            return Err("run command is empty".to_owned());
        }
        if self.compile.as_ref().is_some_and(Vec::is_empty) {
            return Err("compile command is empty".to_owned());
        }
        for m in &self.mounts {
            if !m.is_absolute() {
                return Err(format!("mount {} must be an absolute path", m.display()));
            }
        }
        Ok(())
    }
}

/// The language table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageTable {
    languages: BTreeMap<String, Language>,
}

impl Default for LanguageTable {
    fn default() -> Self {
        Self::builtin()
    }
}

impl LanguageTable {
    /// The built-in table: Python 3, JavaScript (Node.js), C, C++, Java and Rust (each
    /// usable where its toolchain is installed at the path the table names).
    pub fn builtin() -> Self {
        // Parsed once per process: `SandboxConfig::default()` asks for it even when the
        // caller brings its own table.
        static TABLE: std::sync::OnceLock<LanguageTable> = std::sync::OnceLock::new();
        TABLE
            .get_or_init(|| {
                // The built-in table is part of the source and covered by tests.
                #[allow(clippy::expect_used)]
                Self::parse(BUILTIN, Path::new("<built-in>"))
                    .expect("built-in language table is valid")
            })
            .clone()
    }

    fn parse(text: &str, origin: &Path) -> Result<Self, SandboxError> {
        let err = |message: String| SandboxError::LanguageTable {
            path: origin.to_path_buf(),
            message,
        };
        let mut languages: BTreeMap<String, Language> =
            toml::from_str(text).map_err(|e| err(e.to_string()))?;
        for (name, lang) in &mut languages {
            lang.name = name.clone();
            lang.validate().map_err(|m| err(format!("[{name}]: {m}")))?;
        }
        Ok(LanguageTable { languages })
    }

    /// The built-in table with the entries of `text` added or replacing built-in ones.
    pub fn with_overrides(mut self, text: &str, origin: &Path) -> Result<Self, SandboxError> {
        let extra = Self::parse(text, origin)?;
        self.languages.extend(extra.languages);
        Ok(self)
    }

    /// The built-in table overridden by the TOML file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|e| SandboxError::LanguageTable {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::builtin().with_overrides(&text, path)
    }

    /// Looks a language up by name or alias (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Language> {
        let name = name.to_ascii_lowercase();
        self.languages.get(&name).or_else(|| {
            self.languages
                .values()
                .find(|l| l.aliases.iter().any(|a| a.eq_ignore_ascii_case(&name)))
        })
    }

    /// Picks the language for a file by its extension.
    pub fn for_path(&self, path: &Path) -> Option<&Language> {
        let ext = path.extension()?.to_str()?;
        self.languages
            .values()
            .find(|l| l.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)))
    }

    /// Every language, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Language> {
        self.languages.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_the_four_first_languages() {
        let t = LanguageTable::builtin();
        for name in ["python", "javascript", "typescript", "c", "cpp", "go"] {
            assert!(t.get(name).is_some(), "{name} missing");
        }
        assert_eq!(t.get("py").map(|l| l.name.as_str()), Some("python"));
        assert_eq!(
            t.for_path(Path::new("x/main.CPP")).map(|l| l.name.as_str()),
            Some("cpp")
        );
        assert!(t.get("c").and_then(|l| l.compile.as_ref()).is_some());
    }

    #[test]
    fn overrides_replace_and_add() {
        let t = LanguageTable::builtin()
            .with_overrides(
                r#"
                [python]
                source = "prog.py"
                run = ["/opt/py/bin/python3", "prog.py"]
                mounts = ["/opt/py"]
                [lua]
                extensions = ["lua"]
                source = "main.lua"
                run = ["/usr/bin/lua", "main.lua"]
                "#,
                Path::new("test.toml"),
            )
            .expect("valid overrides");
        let py = t.get("python").expect("python");
        assert_eq!(py.source, "prog.py");
        assert!(
            py.aliases.is_empty(),
            "an override replaces the whole entry"
        );
        assert!(t.get("lua").is_some());
        assert!(t.get("javascript").is_some());
    }

    #[test]
    fn rejects_unsafe_source_names_and_unknown_keys() {
        for bad in [
            "[x]\nsource = \"../etc/passwd\"\nrun = [\"/bin/true\"]",
            "[x]\nsource = \"a.x\"\nrun = []",
            "[x]\nsource = \"a.x\"\nrun = [\"/bin/true\"]\nmounts = [\"rel\"]",
            "[x]\nsource = \"a.x\"\nrun = [\"/bin/true\"]\nbogus = 1",
        ] {
            assert!(
                LanguageTable::builtin()
                    .with_overrides(bad, Path::new("bad.toml"))
                    .is_err(),
                "accepted: {bad}"
            );
        }
    }
}
