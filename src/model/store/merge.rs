//! Three-way merge of profile lists by profile id, so two processes saving at once (the window and
//! a script running `exo-connect profile add`) lose nothing: what this process changed since it
//! last read the file (`base` → `ours`) is applied onto what is on disk now (`disk`).
//!
//! Rules: a profile this process added or edited replaces the disk's copy of that id (the last
//! writer wins per profile, not per file); a profile this process removed is removed; everything
//! else is taken from disk, so other processes' additions, edits and removals survive. If the
//! merge leaves two profiles with the same name (both processes added "contoso"), this process's
//! profile is renamed `contoso (2)` and the rename is reported.

use std::collections::HashSet;

use super::super::profile::Profile;

/// The merged list and the renames made to keep names unique (old name, new name).
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub profiles: Vec<Profile>,
    pub renamed: Vec<(String, String)>,
}

pub fn merge(disk: &[Profile], base: &[Profile], ours: &[Profile]) -> Merged {
    let removed: HashSet<_> = base
        .iter()
        .filter(|b| !ours.iter().any(|p| p.id == b.id))
        .map(|b| b.id)
        .collect();
    let mut out: Vec<Profile> = disk
        .iter()
        .filter(|p| !removed.contains(&p.id))
        .cloned()
        .collect();
    let mut ours_changed = HashSet::new();
    for p in ours {
        let changed = base.iter().find(|b| b.id == p.id) != Some(p);
        if !changed {
            continue;
        }
        ours_changed.insert(p.id);
        match out.iter_mut().find(|d| d.id == p.id) {
            Some(slot) => *slot = p.clone(),
            None => out.push(p.clone()),
        }
    }
    let renamed = unique_names(&mut out, &ours_changed);
    Merged {
        profiles: out,
        renamed,
    }
}

fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Renames this process's profiles whose names clash with another's.
fn unique_names(out: &mut [Profile], ours_changed: &HashSet<uuid::Uuid>) -> Vec<(String, String)> {
    let mut renamed = Vec::new();
    // Names held by profiles we did not change are fixed; ours yield.
    let mut taken: HashSet<String> = out
        .iter()
        .filter(|p| !ours_changed.contains(&p.id))
        .map(|p| key(&p.name))
        .collect();
    for p in out.iter_mut().filter(|p| ours_changed.contains(&p.id)) {
        if taken.insert(key(&p.name)) {
            continue;
        }
        let base = p.name.trim().to_string();
        let new = (2..)
            .map(|n| format!("{base} ({n})"))
            .find(|n| !taken.contains(&key(n)))
            .expect("an unused name");
        taken.insert(key(&new));
        renamed.push((p.name.clone(), new.clone()));
        p.name = new;
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;

    fn p(name: &str) -> Profile {
        Profile::new(name, "admin@contoso.com", Service::ExchangeOnline)
    }

    #[test]
    fn both_sides_additions_survive() {
        let a = p("a");
        let b = p("b");
        let c = p("c");
        let base = vec![a.clone()];
        let disk = vec![a.clone(), b.clone()];
        let ours = vec![a.clone(), c.clone()];
        let m = merge(&disk, &base, &ours);
        assert_eq!(m.profiles, vec![a, b, c]);
        assert!(m.renamed.is_empty());
    }

    #[test]
    fn removals_and_edits_apply_per_profile() {
        let a = p("a");
        let b = p("b");
        let c = p("c");
        let base = vec![a.clone(), b.clone(), c.clone()];
        // the other process edited b and removed c
        let mut b2 = b.clone();
        b2.notes = "theirs".into();
        let disk = vec![a.clone(), b2.clone()];
        // we removed a and edited nothing else
        let ours = vec![b.clone(), c.clone()];
        let m = merge(&disk, &base, &ours);
        assert_eq!(m.profiles, vec![b2]);
        // we edit b too: ours wins for b
        let mut b3 = b.clone();
        b3.notes = "ours".into();
        let m = merge(&disk, &base, &[a.clone(), b3.clone(), c.clone()]);
        assert_eq!(m.profiles, vec![a, b3]);
    }

    #[test]
    fn clashing_new_names_are_renamed_on_our_side() {
        let theirs = p("Contoso");
        let ours = p("contoso");
        let m = merge(
            std::slice::from_ref(&theirs),
            &[],
            std::slice::from_ref(&ours),
        );
        assert_eq!(m.profiles.len(), 2);
        assert_eq!(m.profiles[0], theirs);
        assert_eq!(m.profiles[1].name, "contoso (2)");
        assert_eq!(
            m.renamed,
            vec![("contoso".to_string(), "contoso (2)".to_string())]
        );
    }
}
