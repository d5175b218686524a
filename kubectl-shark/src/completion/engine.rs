//! Completion of a command line from the clap definition alone, answered in Cobra's protocol
//! (what kubectl expects from `kubectl_complete-<plugin>`): one candidate per line, optionally
//! `candidate<TAB>description`, then `:<directive>`.
//!
//! The words are those after `kubectl shark`; the last one is the word being completed (empty
//! when the cursor is after a space). Nothing here trusts the words: unknown flags and extra
//! positionals are skipped, never an error.

use clap::builder::ValueHint;
use clap::{Arg, Command};

/// Cobra's `ShellCompDirective` bits.
pub mod directive {
    /// Let the shell complete file names (Cobra's `ShellCompDirectiveDefault`).
    pub const DEFAULT: u32 = 0;
    /// Do not add a space after the candidate (e.g. `--flag=`).
    pub const NO_SPACE: u32 = 2;
    /// Do not complete file names when there is no candidate.
    pub const NO_FILE_COMP: u32 = 4;
    /// Complete directory names only.
    pub const FILTER_DIRS: u32 = 16;
}

/// What to offer for the word being completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completions {
    /// `(candidate, description)`.
    pub candidates: Vec<(String, String)>,
    pub directive: u32,
}

impl Completions {
    /// Cobra's output: `value\tdescription` lines, then `:directive`.
    pub fn to_cobra(&self) -> String {
        let mut out = String::new();
        for (value, help) in &self.candidates {
            // A newline or tab inside would break the line protocol.
            let clean = |s: &str| s.replace(['\n', '\t', '\r'], " ");
            out.push_str(&clean(value));
            if !help.is_empty() {
                out.push('\t');
                out.push_str(&clean(help));
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

/// Completes the last of `words` (the words after the program name) against `root`.
pub fn complete(root: &Command, words: &[String]) -> Completions {
    let mut root = root.clone();
    root.build();
    let (current, before) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut cmd = &root;
    let mut pending: Option<&Arg> = None;
    let mut positionals = 0usize;
    let mut only_positionals = false;
    for word in before {
        // The value of the flag before: nothing to learn from it.
        if pending.take().is_some() {
            continue;
        }
        if !only_positionals && word == "--" {
            only_positionals = true;
        } else if !only_positionals && word.starts_with("--") {
            let name = word[2..].split('=').next().unwrap_or_default();
            if let Some(arg) = find_long(cmd, name) {
                if takes_value(arg) && !word.contains('=') {
                    pending = Some(arg);
                }
            }
        } else if !only_positionals && word.starts_with('-') && word.len() > 1 {
            // A cluster of short flags; the first one taking a value takes the rest of the word,
            // or the next word when nothing is left.
            let mut chars = word[1..].chars();
            while let Some(c) = chars.next() {
                match find_short(cmd, c) {
                    Some(arg) if takes_value(arg) => {
                        if chars.as_str().is_empty() {
                            pending = Some(arg);
                        }
                        break;
                    }
                    Some(_) => {}
                    None => break,
                }
            }
        } else if positionals == 0 && cmd.has_subcommands() {
            match find_subcommand(cmd, word) {
                Some(sub) => cmd = sub,
                None => positionals += 1,
            }
        } else {
            positionals += 1;
        }
    }

    if let Some(arg) = pending {
        return values(arg, current, "");
    }
    if !only_positionals && current.starts_with("--") {
        if let Some((name, value)) = current[2..].split_once('=') {
            return match find_long(cmd, name) {
                Some(arg) if takes_value(arg) => values(arg, value, &format!("--{name}=")),
                _ => none(),
            };
        }
        return flags(cmd, current, false);
    }
    if !only_positionals && current.starts_with('-') {
        return flags(cmd, current, current == "-");
    }
    let mut candidates = Vec::new();
    if positionals == 0 && !only_positionals {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name().starts_with(current) {
                candidates.push((sub.get_name().to_string(), about(sub)));
            }
        }
    }
    let positional = cmd.get_positionals().filter(|a| !a.is_hide_set()).nth(positionals).or_else(|| {
        // The last positional may take many values (`view FILE...`).
        cmd.get_positionals()
            .filter(|a| !a.is_hide_set())
            .last()
            .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
    });
    match positional {
        Some(arg) if candidates.is_empty() => values(arg, current, ""),
        Some(arg) => {
            let more = values(arg, current, "");
            candidates.extend(more.candidates);
            Completions { candidates, directive: more.directive }
        }
        None => Completions { candidates, directive: directive::NO_FILE_COMP },
    }
}

fn none() -> Completions {
    Completions { candidates: Vec::new(), directive: directive::NO_FILE_COMP }
}

/// The flags of `cmd` starting with `prefix` (long ones; short ones too when `with_short`).
fn flags(cmd: &Command, prefix: &str, with_short: bool) -> Completions {
    let mut candidates = Vec::new();
    for arg in cmd.get_arguments().filter(|a| !a.is_positional() && !a.is_hide_set()) {
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        if let Some(long) = arg.get_long() {
            let flag = format!("--{long}");
            if flag.starts_with(prefix) {
                candidates.push((flag, help.clone()));
            }
        }
        if with_short {
            if let Some(short) = arg.get_short() {
                candidates.push((format!("-{short}"), help));
            }
        }
    }
    Completions { candidates, directive: directive::NO_FILE_COMP }
}

/// The values `arg` takes that start with `prefix`, each written after `lead` (`--flag=`).
fn values(arg: &Arg, prefix: &str, lead: &str) -> Completions {
    let possible = arg.get_possible_values();
    if !possible.is_empty() {
        let candidates = possible
            .iter()
            .filter(|v| !v.is_hide_set() && v.get_name().starts_with(prefix))
            .map(|v| (format!("{lead}{}", v.get_name()), v.get_help().map(|h| h.to_string()).unwrap_or_default()))
            .collect();
        return Completions { candidates, directive: directive::NO_FILE_COMP };
    }
    let is_path = arg.get_value_parser().type_id() == clap::builder::ValueParser::path_buf().type_id();
    let directive = match arg.get_value_hint() {
        ValueHint::DirPath => directive::FILTER_DIRS,
        ValueHint::FilePath | ValueHint::AnyPath | ValueHint::ExecutablePath => directive::DEFAULT,
        ValueHint::Unknown if is_path => directive::DEFAULT,
        _ => directive::NO_FILE_COMP,
    };
    // The shell completes file names itself; after `--flag=` it would lose the flag, so none.
    let directive = if lead.is_empty() { directive } else { directive::NO_FILE_COMP | directive::NO_SPACE };
    Completions { candidates: Vec::new(), directive }
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn find_long<'a>(cmd: &'a Command, name: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name)))
}

fn find_short(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| a.get_short() == Some(c))
}

fn find_subcommand<'a>(cmd: &'a Command, name: &str) -> Option<&'a Command> {
    cmd.get_subcommands().find(|s| s.get_name() == name || s.get_all_aliases().any(|a| a == name))
}

fn about(cmd: &Command) -> String {
    cmd.get_about().map(|a| a.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{value_parser, ArgAction};

    /// A small command with every shape the engine handles.
    fn cmd() -> Command {
        Command::new("prog")
            .subcommand(
                Command::new("run")
                    .about("Run it")
                    .arg(Arg::new("mode").short('m').long("mode").value_parser(["fast", "slow"]))
                    .arg(Arg::new("quiet").short('q').long("quiet").action(ArgAction::SetTrue))
                    .arg(Arg::new("secret").long("secret").hide(true).action(ArgAction::SetTrue))
                    .arg(Arg::new("out").long("out").value_parser(value_parser!(std::path::PathBuf)))
                    .arg(Arg::new("dir").long("dir").value_hint(ValueHint::DirPath))
                    .arg(Arg::new("name").long("name"))
                    .arg(Arg::new("files").num_args(1..).value_parser(value_parser!(std::path::PathBuf))),
            )
            .subcommand(Command::new("rest").about("Rest"))
            .subcommand(Command::new("hidden").hide(true))
    }

    fn words(line: &[&str]) -> Vec<String> {
        line.iter().map(|w| w.to_string()).collect()
    }

    fn values_of(c: &Completions) -> Vec<&str> {
        c.candidates.iter().map(|(v, _)| v.as_str()).collect()
    }

    #[test]
    fn subcommands_by_prefix_with_their_about_hidden_ones_left_out() {
        let c = complete(&cmd(), &words(&["r"]));
        assert_eq!(c.candidates, vec![("run".into(), "Run it".into()), ("rest".into(), "Rest".into())]);
        assert_eq!(c.directive, directive::NO_FILE_COMP);
        let all = complete(&cmd(), &words(&[""]));
        assert_eq!(values_of(&all), vec!["run", "rest", "help"], "clap's help subcommand is there, hidden is not");
        assert_eq!(complete(&cmd(), &[]).candidates, all.candidates, "no words at all: as an empty word");
    }

    #[test]
    fn values_of_a_flag_in_the_next_word_inline_and_after_a_short_cluster() {
        for line in [&["run", "--mode", ""][..], &["run", "-m", ""], &["run", "-qm", ""]] {
            let c = complete(&cmd(), &words(line));
            assert_eq!(values_of(&c), vec!["fast", "slow"], "{line:?}");
            assert_eq!(c.directive, directive::NO_FILE_COMP);
        }
        let c = complete(&cmd(), &words(&["run", "--mode=s"]));
        assert_eq!(values_of(&c), vec!["--mode=slow"]);
        // `-mfast` carries its value: the next word is a file again.
        let c = complete(&cmd(), &words(&["run", "-mfast", ""]));
        assert_eq!(c.directive, directive::DEFAULT);
    }

    #[test]
    fn flags_long_and_short_hidden_ones_left_out() {
        let c = complete(&cmd(), &words(&["run", "--"]));
        assert_eq!(values_of(&c), vec!["--mode", "--quiet", "--out", "--dir", "--name", "--help"]);
        let c = complete(&cmd(), &words(&["run", "-"]));
        assert_eq!(values_of(&c), vec!["--mode", "-m", "--quiet", "-q", "--out", "--dir", "--name", "--help", "-h"]);
        assert_eq!(values_of(&complete(&cmd(), &words(&["run", "--q"]))), vec!["--quiet"]);
    }

    #[test]
    fn paths_let_the_shell_complete_files_directories_and_free_text_nothing() {
        assert_eq!(complete(&cmd(), &words(&["run", "--out", ""])).directive, directive::DEFAULT);
        assert_eq!(complete(&cmd(), &words(&["run", "--dir", ""])).directive, directive::FILTER_DIRS);
        assert_eq!(complete(&cmd(), &words(&["run", "--name", ""])).directive, directive::NO_FILE_COMP);
        // Positional files, also after some were given and after `--`.
        assert_eq!(complete(&cmd(), &words(&["run", "a.pcap", "b"])).directive, directive::DEFAULT);
        let c = complete(&cmd(), &words(&["run", "--", "-x"]));
        assert_eq!((c.candidates.len(), c.directive), (0, directive::DEFAULT), "after -- a dash word is a file");
    }

    #[test]
    fn hostile_words_give_an_answer_not_a_panic() {
        for line in [
            &["--", "--", ""][..],
            &["-", "-"],
            &["run", "--=", "--="],
            &["run", "-\u{e9}\u{1F988}", ""],
            &["nope", "nope", "--mode", "x"],
            &["run", "--mode"],
        ] {
            let c = complete(&cmd(), &words(line));
            assert!(c.to_cobra().ends_with(&format!(":{}\n", c.directive)), "{line:?}");
        }
    }

    #[test]
    fn cobra_output_is_one_candidate_per_line_then_the_directive() {
        let c = Completions {
            candidates: vec![("a".into(), "the\tfirst\nline".into()), ("b".into(), String::new())],
            directive: directive::NO_FILE_COMP | directive::NO_SPACE,
        };
        assert_eq!(c.to_cobra(), "a\tthe first line\nb\n:6\n");
    }
}
