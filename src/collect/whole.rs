//! A run of a query from its first page to its last is a complete listing
//! of the query, whose changes are told (see [`crate::archive::listings`]).
//!
//! The run's pages are remembered in the state file as they are archived,
//! so a run interrupted and resumed is still one listing; a page refused
//! leaves a hole, and the run is then no listing at all. The last page is
//! handed in with the scope and the pages before it
//! ([`crate::archive::FetchedFrom::completes`]). When a library ends a
//! listing with an answer holding no ads, the page before it was the last:
//! a copy of each page is held until the next answer says which it was.

use std::path::{Path, PathBuf};

use super::{hand_in, CollectError, Collected, Import, Workspace};

/// The scope of the listings of one query of a library:
/// `<library>:query:<countries>:<digest>`, the digest (12 hex digits of
/// blake3) of `deciding`, the parameters that decide which ads the query
/// finds. The countries are kept readable, the rest is only told apart.
///
/// ```
/// use adarchive::collect::query_scope;
/// let scope = query_scope("microsoft", &["72".into(), "US".into()], "searchText=vote");
/// assert!(scope.starts_with("microsoft:query:72-US:"));
/// assert_eq!(scope.len(), "microsoft:query:72-US:".len() + 12);
/// assert_ne!(scope, query_scope("microsoft", &["72".into(), "US".into()], "searchText=votes"));
/// // Nothing a query says can add a separator to the scope.
/// assert!(query_scope("linkedin", &["d:e/../x".into()], "").starts_with("linkedin:query:dex:"));
/// ```
pub fn query_scope(library: &str, countries: &[String], deciding: &str) -> String {
    let digest = blake3::hash(deciding.as_bytes());
    let countries: String = countries
        .iter()
        .map(|c| {
            c.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
        .chars()
        .take(40)
        .collect();
    format!("{library}:query:{countries}:{}", &digest.to_hex()[..12])
}

/// One run of a query, which is a complete listing of it when it has a
/// scope and runs from its first page to its last.
pub(super) struct WholeRun {
    listing: String,
    scope: Option<String>,
    held: PathBuf,
}

impl WholeRun {
    /// Starts remembering the pages of the run called `listing` when it
    /// lists every ad of `scope`; a `resumed` run goes on with the pages
    /// remembered before it stopped.
    pub(super) fn begin(
        workspace: &mut Workspace,
        listing: &str,
        scope: Option<String>,
        resumed: bool,
    ) -> WholeRun {
        let held = workspace.file(&format!("held-{listing}"));
        if !resumed {
            workspace.state.collected.remove(listing);
            let _ = std::fs::remove_dir_all(&held);
            if scope.is_some() {
                workspace
                    .state
                    .collected
                    .insert(listing.to_owned(), Vec::new());
            }
        }
        WholeRun {
            listing: listing.to_owned(),
            scope,
            held,
        }
    }

    /// What the page about to be handed in completes when it is the
    /// `last` of a run that lists every ad of its scope.
    pub(super) fn completes(&self, workspace: &Workspace, last: bool) -> Option<Collected> {
        let pages = workspace.state.collected.get(&self.listing)?;
        Some(Collected {
            scope: self.scope.clone().filter(|_| last)?,
            pages: pages.clone(),
        })
    }

    /// Keeps a copy of the page at `path`, about to be handed in, under
    /// its name until the next answer says whether it was the last.
    pub(super) fn hold(&self, workspace: &Workspace, path: &Path) {
        let _ = std::fs::remove_dir_all(&self.held);
        let (true, Some(name)) = (
            workspace.state.collected.contains_key(&self.listing),
            path.file_name(),
        ) else {
            return;
        };
        let copied = std::fs::create_dir_all(&self.held)
            .and_then(|()| std::fs::copy(path, self.held.join(name)));
        if copied.is_err() {
            let _ = std::fs::remove_dir_all(&self.held);
        }
    }

    /// The page held, if one is.
    fn held_page(&self) -> Option<(PathBuf, String)> {
        let entry = std::fs::read_dir(&self.held).ok()?.flatten().next()?;
        Some((
            entry.path(),
            entry.file_name().to_string_lossy().into_owned(),
        ))
    }

    /// Remembers a page handed in that was not the last: `archived` is
    /// the blake3 it was archived as, `None` when it was refused, and the
    /// run is then no complete listing.
    pub(super) fn archived(&self, workspace: &mut Workspace, archived: Option<String>) {
        match archived {
            Some(blake3) => {
                if let Some(pages) = workspace.state.collected.get_mut(&self.listing) {
                    pages.push(blake3);
                }
            }
            None => {
                workspace.state.collected.remove(&self.listing);
            }
        }
    }

    /// The library ended the listing with an answer to `address` that
    /// holds no ads: the page held is the listing's last, handed in again
    /// to say so.
    pub(super) fn ended_on_empty_answer(
        &self,
        workspace: &mut Workspace,
        address: &str,
        import: &mut Import<'_>,
    ) -> Result<(), CollectError> {
        let pages = workspace.state.collected.get(&self.listing);
        let (Some(scope), Some([before @ .., _last])) = (&self.scope, pages.map(Vec::as_slice))
        else {
            return Ok(());
        };
        let Some((page, name)) = self.held_page() else {
            return Ok(());
        };
        let completes = Collected {
            scope: scope.clone(),
            pages: before.to_vec(),
        };
        hand_in(page, address, &name, Some(completes), import).map(|_| ())
    }

    /// Forgets the run: it ended, or will start again from its first page.
    pub(super) fn end(&self, workspace: &mut Workspace) {
        workspace.state.collected.remove(&self.listing);
        let _ = std::fs::remove_dir_all(&self.held);
    }
}
