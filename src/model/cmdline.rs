//! The cmdlet-line parser: one PowerShell cmdlet with parameters, turned into the cmdlet name
//! and the typed JSON parameters of an `InvokeCommand` body (reference page §2).
//!
//! Pure: no I/O, no async. What it accepts:
//! - `Verb-Noun` cmdlet name, then `-Name value`, `-Name:value`, `-Switch` (= `true`);
//! - one positional value right after the cmdlet name, sent as `Identity`;
//! - strings: `'single'` (`''` escapes a quote), `"double"` (`""` and backtick escapes),
//!   the typographic quotes ‘ ’ ‚ ‛ and “ ” „ counting as quotes as in PowerShell, bare
//!   words; numbers (`10`, `-3`, `1.5`, `10GB`-style sizes become bytes);
//! - `$true`, `$false`, `$null`; arrays `a,b` and `@('a','b')`; hashtables
//!   `@{Add='x';Remove='y'}` (sent with `"@odata.type":"#Exchange.GenericHashTable"`).
//!
//! Parameters that carry secrets (`-Password`, `-Credential`, …) are refused (`params`), and
//! the values of date-named parameters are sent as ISO 8601 UTC (`params::encode_dates`).
//!
//! Everything else that PowerShell would do (pipelines, script blocks, variables, `;`,
//! subexpressions, redirection) is refused with a message saying what exo-connect runs.

use serde_json::{Map, Value};

/// What exo-connect runs, quoted in every refusal.
pub const WHAT_WE_RUN: &str =
    "exo-connect runs one cmdlet with parameters, like Get-Mailbox -ResultSize 10";

/// A parsed line: the cmdlet and its parameters in the order written.
#[derive(Debug, Clone, PartialEq)]
pub struct CmdletLine {
    pub cmdlet: String,
    pub parameters: Map<String, Value>,
}

impl CmdletLine {
    /// A parameter by name, case-insensitively (PowerShell parameter names are).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.parameters
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Why a line was refused; `position` is the character offset where the problem starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CmdlineError {
    pub message: String,
    pub position: usize,
}

/// Parses one cmdlet line.
pub fn parse_cmdlet_line(line: &str) -> Result<CmdletLine, CmdlineError> {
    let mut p = Parser {
        s: line.chars().collect(),
        i: 0,
    };
    p.line()
}

struct Parser {
    s: Vec<char>,
    i: usize,
}

fn refuse(position: usize, what: &str) -> CmdlineError {
    CmdlineError {
        message: format!("{what}. {WHAT_WE_RUN}."),
        position,
    }
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | ';' | '|' | '(' | ')' | '{' | '}' | '&' | '<' | '>')
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.i + n).copied()
    }

    /// Skips blanks and backtick line continuations.
    fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => self.i += 1,
                Some('`') if self.peek_at(1).is_some_and(|c| c == '\n' || c == '\r') => self.i += 2,
                _ => break,
            }
        }
    }

    /// Refuses the PowerShell constructs we do not run, at the current position.
    fn check_forbidden(&self) -> Result<(), CmdlineError> {
        let at = self.i;
        match self.peek() {
            Some('|') => Err(refuse(at, "Pipelines (|) are not supported")),
            Some(';') => Err(refuse(
                at,
                "Several statements separated by ';' are not supported",
            )),
            Some('{') | Some('}') => Err(refuse(at, "Script blocks ({ ... }) are not supported")),
            Some('>') | Some('<') => Err(refuse(at, "Redirection (>, <) is not supported")),
            Some('2'..='6' | '*') if self.peek_at(1) == Some('>') => {
                Err(refuse(at, "Redirection (>, <) is not supported"))
            }
            Some('&') => Err(refuse(
                at,
                "The call operator and background jobs (&) are not supported",
            )),
            Some('(') | Some(')') => Err(refuse(
                at,
                "Parenthesised expressions are not supported; write the value itself",
            )),
            Some('#') => Err(refuse(at, "Comments (#) are not supported")),
            Some('$') if self.peek_at(1) == Some('(') => {
                Err(refuse(at, "Subexpressions $( ... ) are not supported"))
            }
            _ => Ok(()),
        }
    }

    fn line(&mut self) -> Result<CmdletLine, CmdlineError> {
        let name = self.cmdlet_name()?;
        let mut parameters = Map::new();
        let mut positional_used = false;
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else { break };
            self.check_forbidden()?;
            let at = self.i;
            if c == '-' && self.peek_at(1).is_some_and(|c| c.is_ascii_alphabetic()) {
                let (pname, value) = self.named_parameter()?;
                if parameters.keys().any(|k| k.eq_ignore_ascii_case(&pname)) {
                    return Err(CmdlineError {
                        message: format!("Parameter -{pname} is given twice; give it once"),
                        position: at,
                    });
                }
                parameters.insert(pname, value);
            } else {
                if positional_used
                    || parameters
                        .keys()
                        .any(|k| k.eq_ignore_ascii_case("Identity"))
                {
                    return Err(CmdlineError {
                        message: format!(
                            "Unexpected value at position {at}: only one value may follow the cmdlet name without a parameter (it is sent as -Identity); name the parameter, like -Identity 'Ann Lee'"
                        ),
                        position: at,
                    });
                }
                let v = self.value()?;
                positional_used = true;
                parameters.insert("Identity".into(), v);
            }
        }
        // By name only: a value that does not read as a date is left as typed.
        let _ = super::params::encode_dates(&mut parameters, &|_| None);
        Ok(CmdletLine {
            cmdlet: name,
            parameters,
        })
    }

    /// The `Verb-Noun` the line starts with (after blanks), or why the start is not one.
    fn cmdlet_name(&mut self) -> Result<String, CmdlineError> {
        self.skip_ws();
        if self.peek().is_none() {
            return Err(refuse(0, "The line is empty: type a cmdlet name"));
        }
        self.check_forbidden()?;
        if self.peek() == Some('$') {
            return Err(self.variable_error());
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if ends_word(c) {
                break;
            }
            self.i += 1;
        }
        let name: String = self.s[start..self.i].iter().collect();
        if !is_cmdlet_name(&name) {
            return Err(refuse(
                start,
                &format!(
                    "'{name}' is not a cmdlet name: the line must start with a Verb-Noun cmdlet such as Get-Mailbox"
                ),
            ));
        }
        Ok(name)
    }

    /// `-Name value`, `-Name:value` or `-Switch` (= `true`), at the `-`: the name and its value.
    fn named_parameter(&mut self) -> Result<(String, Value), CmdlineError> {
        let at = self.i;
        self.i += 1;
        let ns = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.i += 1;
        }
        let pname: String = self.s[ns..self.i].iter().collect();
        if let Some(message) = super::params::secret_parameter(&pname) {
            return Err(CmdlineError {
                message,
                position: at,
            });
        }
        let value = if self.peek() == Some(':') {
            self.i += 1;
            if self.peek().is_none_or(|c| c.is_whitespace()) {
                return Err(CmdlineError {
                    message: format!(
                        "Parameter -{pname}: is missing its value after ':' (write -{pname}:$true or -{pname}:value)"
                    ),
                    position: self.i,
                });
            }
            self.value()?
        } else {
            match self.peek() {
                Some(c) if !ends_word(c) && c != '-' => {
                    return Err(CmdlineError {
                        message: format!(
                            "Parameter name -{pname}{c}... contains an invalid character '{c}'"
                        ),
                        position: self.i,
                    });
                }
                _ => {}
            }
            self.skip_ws();
            if self.at_value_start() {
                self.value()?
            } else {
                Value::Bool(true)
            }
        };
        Ok((pname, value))
    }

    /// Whether a value (not another `-Parameter`, not the end) starts here.
    fn at_value_start(&self) -> bool {
        match self.peek() {
            None => false,
            Some('-') => !self.peek_at(1).is_some_and(|c| c.is_ascii_alphabetic()),
            Some(_) => true,
        }
    }

    fn variable_error(&self) -> CmdlineError {
        let start = self.i;
        let mut j = self.i + 1;
        while self
            .s
            .get(j)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        {
            j += 1;
        }
        let name: String = self.s[start..j].iter().collect();
        refuse(
            start,
            &format!(
                "Variables such as {name} are not supported (only $true, $false and $null); write the value itself"
            ),
        )
    }

    /// A value: one primary, or a comma-separated array of primaries.
    fn value(&mut self) -> Result<Value, CmdlineError> {
        let first = self.primary()?;
        let save = self.i;
        self.skip_ws();
        if self.peek() != Some(',') {
            self.i = save;
            return Ok(first);
        }
        let mut items = vec![first];
        while self.peek() == Some(',') {
            self.i += 1;
            self.skip_ws();
            if self.peek().is_none() {
                return Err(CmdlineError {
                    message: "The list ends with ','; remove it or add the missing item".into(),
                    position: self.i,
                });
            }
            items.push(self.primary()?);
            let save = self.i;
            self.skip_ws();
            if self.peek() != Some(',') {
                self.i = save;
                break;
            }
        }
        Ok(Value::Array(items))
    }

    fn primary(&mut self) -> Result<Value, CmdlineError> {
        self.check_forbidden()?;
        let at = self.i;
        match self.peek() {
            None => Err(CmdlineError {
                message: "A value is missing at the end of the line".into(),
                position: at,
            }),
            Some(c) if is_single_quote(c) => self.single_quoted().map(Value::String),
            Some(c) if is_double_quote(c) => self.double_quoted().map(Value::String),
            Some('@') if self.peek_at(1) == Some('(') => self.array_literal(),
            Some('@') if self.peek_at(1) == Some('{') => self.hashtable(),
            Some('$') => {
                let rest: String = self.s[self.i + 1..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_')
                    .collect();
                let v = match rest.to_ascii_lowercase().as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => return Err(self.variable_error()),
                };
                self.i += 1 + rest.chars().count();
                Ok(v)
            }
            Some(',') => Err(CmdlineError {
                message: "A value is missing before ','".into(),
                position: at,
            }),
            Some(_) => {
                while let Some(c) = self.peek() {
                    if ends_word(c) {
                        break;
                    }
                    if c == '$' {
                        return Err(self.variable_error());
                    }
                    if is_single_quote(c) || is_double_quote(c) {
                        return Err(CmdlineError {
                            message: format!(
                                "A quote inside the bare word starting at {at}: quote the whole value, like 'it''s'"
                            ),
                            position: self.i,
                        });
                    }
                    self.i += 1;
                }
                let word: String = self.s[at..self.i].iter().collect();
                Ok(bare_word(&word))
            }
        }
    }

    fn single_quoted(&mut self) -> Result<String, CmdlineError> {
        let at = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(CmdlineError {
                        message: format!(
                            "The string starting at position {at} has no closing single quote (')"
                        ),
                        position: at,
                    });
                }
                // Two quotes in a row (any of PowerShell's single-quote forms) are one literal quote.
                Some(c) if is_single_quote(c) && self.peek_at(1).is_some_and(is_single_quote) => {
                    out.push(self.peek_at(1).unwrap_or(c));
                    self.i += 2;
                }
                Some(c) if is_single_quote(c) => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, CmdlineError> {
        let at = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(CmdlineError {
                        message: format!(
                            "The string starting at position {at} has no closing double quote (\")"
                        ),
                        position: at,
                    });
                }
                Some(c) if is_double_quote(c) && self.peek_at(1).is_some_and(is_double_quote) => {
                    out.push(self.peek_at(1).unwrap_or(c));
                    self.i += 2;
                }
                Some(c) if is_double_quote(c) => {
                    self.i += 1;
                    return Ok(out);
                }
                Some('`') => {
                    let Some(e) = self.peek_at(1) else {
                        self.i += 1;
                        continue;
                    };
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        'a' => '\u{7}',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'v' => '\u{b}',
                        'e' => '\u{1b}',
                        other => other,
                    });
                    self.i += 2;
                }
                Some('$')
                    if self.peek_at(1).is_some_and(|c| {
                        c.is_alphanumeric() || c == '_' || c == '(' || c == '{'
                    }) =>
                {
                    if self.peek_at(1) == Some('(') {
                        return Err(refuse(
                            self.i,
                            "Subexpressions $( ... ) are not supported, also not inside \"...\" (use single quotes for a literal $)",
                        ));
                    }
                    return Err(refuse(
                        self.i,
                        "Variables are not expanded inside \"...\" (use single quotes, or `$ for a literal $)",
                    ));
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// `@( a, b )` (items separated by commas or new lines).
    fn array_literal(&mut self) -> Result<Value, CmdlineError> {
        let at = self.i;
        self.i += 2;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => {
                    return Err(CmdlineError {
                        message: format!(
                            "The array @( starting at position {at} is not closed with ')'"
                        ),
                        position: at,
                    });
                }
                Some(')') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                Some(',') if !items.is_empty() => self.i += 1,
                _ => match self.value()? {
                    Value::Array(v) => items.extend(v),
                    v => items.push(v),
                },
            }
        }
    }

    /// `@{ Key = value; Other = 'x' }`.
    fn hashtable(&mut self) -> Result<Value, CmdlineError> {
        let at = self.i;
        self.i += 2;
        let mut map = Map::new();
        map.insert(
            "@odata.type".into(),
            Value::String("#Exchange.GenericHashTable".into()),
        );
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(unclosed_hashtable(at)),
                Some('}') => {
                    self.i += 1;
                    return Ok(Value::Object(map));
                }
                Some(';') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let key = self.hashtable_key()?;
            let v = self.hashtable_value(&key, at)?;
            map.insert(key, v);
            self.hashtable_separator(at)?;
        }
    }

    /// A hashtable key: quoted, or a bare name of letters, digits, `_`, `-` and `.`.
    fn hashtable_key(&mut self) -> Result<String, CmdlineError> {
        let key_at = self.i;
        let key = match self.peek() {
            Some(c) if is_single_quote(c) => self.single_quoted()?,
            Some(c) if is_double_quote(c) => self.double_quoted()?,
            _ => {
                let s = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
                {
                    self.i += 1;
                }
                self.s[s..self.i].iter().collect()
            }
        };
        if key.is_empty() {
            return Err(CmdlineError {
                message: format!(
                    "A hashtable key is expected at position {key_at}, like @{{Add='x@contoso.com'}}"
                ),
                position: key_at,
            });
        }
        Ok(key)
    }

    /// `= value` after a hashtable key (the hashtable starts at `at`).
    fn hashtable_value(&mut self, key: &str, at: usize) -> Result<Value, CmdlineError> {
        self.skip_ws();
        if self.peek() != Some('=') {
            return Err(CmdlineError {
                message: format!(
                    "The hashtable key '{key}' must be followed by '=' and a value, like @{{{key}='value'}}"
                ),
                position: self.i,
            });
        }
        self.i += 1;
        self.skip_ws();
        if self.peek().is_none() {
            return Err(unclosed_hashtable(at));
        }
        if self.peek() == Some('}') || self.peek() == Some(';') {
            return Err(CmdlineError {
                message: format!("The hashtable key '{key}' has no value after '='"),
                position: self.i,
            });
        }
        self.value()
    }

    /// What may follow a hashtable entry: `;`, `}` or a new line (left for the caller to read).
    fn hashtable_separator(&mut self, at: usize) -> Result<(), CmdlineError> {
        let before = self.i;
        self.skip_ws();
        let newline = self.s[before..self.i].contains(&'\n');
        match self.peek() {
            Some(';') | Some('}') => Ok(()),
            None => Err(unclosed_hashtable(at)),
            Some(_) if newline => Ok(()),
            Some(_) => Err(CmdlineError {
                message: "Hashtable entries must be separated by ';', like @{Add='a';Remove='b'}"
                    .into(),
                position: self.i,
            }),
        }
    }
}

/// The hashtable starting at `at` ends before its `}`.
fn unclosed_hashtable(at: usize) -> CmdlineError {
    CmdlineError {
        message: format!("The hashtable @{{ starting at position {at} is not closed with '}}'"),
        position: at,
    }
}

/// PowerShell's single quotes: `'` and the typographic ‘ ’ ‚ ‛ (text pasted from Word or a
/// web page), which `model::powershell::quote` escapes too.
fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

/// PowerShell's double quotes: `"` and the typographic “ ” „.
fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

/// `Verb-Noun`: letters, a dash, then letters/digits.
fn is_cmdlet_name(name: &str) -> bool {
    let Some((verb, noun)) = name.split_once('-') else {
        return false;
    };
    !verb.is_empty()
        && verb.chars().all(|c| c.is_ascii_alphabetic())
        && !noun.is_empty()
        && noun.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A bare word: a number (with optional KB/MB/GB/TB/PB multiplier) or a string.
fn bare_word(word: &str) -> Value {
    if let Ok(n) = word.parse::<i64>() {
        return Value::from(n);
    }
    if word.contains(['.', 'e', 'E'])
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && let Ok(f) = word.parse::<f64>()
        && f.is_finite()
    {
        return Value::from(f);
    }
    let lower = word.to_ascii_lowercase();
    for (suffix, mult) in [
        ("kb", 1i64 << 10),
        ("mb", 1 << 20),
        ("gb", 1 << 30),
        ("tb", 1 << 40),
        ("pb", 1 << 50),
    ] {
        if let Some(num) = lower.strip_suffix(suffix)
            && let Ok(n) = num.parse::<i64>()
            && let Some(v) = n.checked_mul(mult)
        {
            return Value::from(v);
        }
    }
    Value::String(word.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn good_lines() {
        let table: Vec<(&str, &str, Value)> = vec![
            ("Get-Mailbox", "Get-Mailbox", json!({})),
            (
                "Get-Mailbox -Identity 'Ann Lee' -ResultSize 100 -Filter \"RecipientTypeDetails -eq 'UserMailbox'\" -IncludeInactiveMailbox -Enabled:$false -Properties a,b -EmailAddresses @{Add='x@y.z'}",
                "Get-Mailbox",
                json!({"Identity":"Ann Lee","ResultSize":100,"Filter":"RecipientTypeDetails -eq 'UserMailbox'","IncludeInactiveMailbox":true,"Enabled":false,"Properties":["a","b"],"EmailAddresses":{"@odata.type":"#Exchange.GenericHashTable","Add":"x@y.z"}}),
            ),
            (
                "  get-mailbox   -ResultSize Unlimited  ",
                "get-mailbox",
                json!({"ResultSize":"Unlimited"}),
            ),
            (
                "Get-Mailbox admin@contoso.com",
                "Get-Mailbox",
                json!({"Identity":"admin@contoso.com"}),
            ),
            ("Get-User 'it''s'", "Get-User", json!({"Identity":"it's"})),
            (
                "Get-User \"say \"\"hi\"\" `t`$x `\"\"",
                "Get-User",
                json!({"Identity":"say \"hi\" \t$x \""}),
            ),
            (
                "Set-X -A:$true -B:$NULL -C:$False",
                "Set-X",
                json!({"A":true,"B":null,"C":false}),
            ),
            (
                "Set-X -A 1.5 -B -3 -C 10GB -D 0",
                "Set-X",
                json!({"A":1.5,"B":-3,"C":10737418240i64,"D":0}),
            ),
            (
                "Set-X -A @('a', 'b') -B @() -C 'x', \"y\" , z",
                "Set-X",
                json!({"A":["a","b"],"B":[],"C":["x","y","z"]}),
            ),
            (
                "Set-Mailbox x -EmailAddresses @{Add='a@b.c','d@e.f'; Remove=\"g@h.i\"}",
                "Set-Mailbox",
                json!({"Identity":"x","EmailAddresses":{"@odata.type":"#Exchange.GenericHashTable","Add":["a@b.c","d@e.f"],"Remove":"g@h.i"}}),
            ),
            (
                "New-TransportRule -Name 'R 1' -Enabled -Priority 2",
                "New-TransportRule",
                json!({"Name":"R 1","Enabled":true,"Priority":2}),
            ),
            (
                "Get-Mailbox -Identity `\n 'x'",
                "Get-Mailbox",
                json!({"Identity":"x"}),
            ),
            (
                "Get-Thing -Price 'costs $5'",
                "Get-Thing",
                json!({"Price":"costs $5"}),
            ),
            (
                "Get-Thing -Price \"costs $ 5\"",
                "Get-Thing",
                json!({"Price":"costs $ 5"}),
            ),
            (
                "Get-Thing -Version 1.2.3",
                "Get-Thing",
                json!({"Version":"1.2.3"}),
            ),
        ];
        for (line, cmdlet, params) in table {
            let parsed = parse_cmdlet_line(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(parsed.cmdlet, cmdlet, "{line}");
            assert_eq!(Value::Object(parsed.parameters), params, "{line}");
        }
    }

    #[test]
    fn bad_lines() {
        // (line, a word the message must contain)
        let table = [
            ("", "empty"),
            ("   ", "empty"),
            ("Get-Mailbox | Select Name", "Pipelines"),
            ("Get-Mailbox; Get-User", "';'"),
            ("Get-Mailbox -Filter {Name -eq 'x'}", "Script blocks"),
            ("Get-Mailbox -Identity $user", "$user"),
            ("$x = 1", "$x"),
            ("Get-Mailbox -Identity $(Get-User x)", "Subexpressions"),
            ("Get-Mailbox > out.txt", "Redirection"),
            ("Get-Mailbox 2> err.txt", "Redirection"),
            ("Get-Mailbox -Identity 'Ann", "closing single quote"),
            ("Get-Mailbox -Identity \"Ann", "closing double quote"),
            ("Mailbox -Identity x", "Verb-Noun"),
            ("-Identity x", "Verb-Noun"),
            ("'Get-Mailbox'", "Verb-Noun"),
            ("Get-Mailbox -Identity \"$env:USER\"", "Variables"),
            ("Get-Mailbox -A 1 -a 2", "twice"),
            ("Get-Mailbox x y", "only one value"),
            ("Get-Mailbox -A @{Add='x'", "not closed"),
            ("Get-Mailbox -A @{Add}", "'='"),
            ("Get-Mailbox -A @('x'", "not closed"),
            ("Get-Mailbox -A a,", "ends with ','"),
            ("Get-Mailbox -A (Get-User)", "Parenthesised"),
            ("& Get-Mailbox", "call operator"),
            ("Get-Mailbox &", "call operator"),
            ("Get-Mailbox -Enabled: ", "missing its value"),
            ("Get-Mailbox # all", "Comments"),
        ];
        for (line, word) in table {
            let err = parse_cmdlet_line(line).expect_err(line);
            assert!(
                err.message.contains(word),
                "{line:?}: message {:?} lacks {word:?}",
                err.message
            );
            if word != "twice" && word != "only one value" {
                // Refusals of PowerShell constructs say what exo-connect runs.
                if [
                    "Pipelines",
                    "Script",
                    "$",
                    "Redirection",
                    "Subexpressions",
                    "';'",
                ]
                .iter()
                .any(|w| word.contains(w))
                {
                    assert!(
                        err.message.contains(WHAT_WE_RUN),
                        "{line:?}: {}",
                        err.message
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod secret_and_date_tests {
    use super::parse_cmdlet_line;

    #[test]
    fn the_cmdlet_line_refuses_secrets_and_sends_dates_as_utc() {
        for line in [
            "Set-Mailbox ann -Password 'P@ss'",
            "New-Mailbox -Name x -RoomMailboxPassword:$p",
            "Connect-Thing -Credential admin",
        ] {
            let e = parse_cmdlet_line(line).unwrap_err();
            assert!(e.message.contains("password or credential"), "{line}: {e}");
        }
        let l = parse_cmdlet_line(
            "Get-MessageTrace -StartDate '2026-11-29T00:00:00Z' -EndDate 2026-11-30T12:30:00+01:00",
        )
        .unwrap();
        assert_eq!(l.get("StartDate").unwrap(), "2026-11-29T00:00:00Z");
        assert_eq!(l.get("EndDate").unwrap(), "2026-11-30T11:30:00Z");
        let l = parse_cmdlet_line("Set-Mailbox ann -ResetPasswordOnNextLogon").unwrap();
        assert_eq!(l.get("ResetPasswordOnNextLogon").unwrap(), true);
    }
}
