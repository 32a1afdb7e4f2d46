//! What every handler shares: the archive, the export slots and the
//! advertiser entities of the current archive generation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::http::header::{HeaderName, HeaderValue};

use super::error::ApiError;
use super::limit::ClientKey;
use crate::advertisers::Entity;
use crate::archive::Archive;

/// What every handler shares.
pub struct AppState {
    /// The archive, opened once.
    pub archive: Arc<Archive>,
    /// The work that writes to it, done one task at a time.
    pub tasks: crate::tasks::Tasks,
    /// Answers of searches, spend totals and the search page, kept until
    /// the archive changes; with each its response headers.
    pub results: crate::cache::ResultCache<Vec<(HeaderName, HeaderValue)>>,
    /// The scheduled collections' last runs.
    pub collections: Arc<crate::collect::schedule::Collections>,
    /// Uploads to the ingest API being received.
    pub uploads: super::routes::admin::UploadSlots,
    /// The largest upload taken, in bytes.
    pub uploads_max_bytes: u64,
    /// Exports running, over all clients and per client.
    pub exports: Arc<ExportSlots>,
    /// Advertiser entities, computed once per archive generation.
    pub advertisers: AdvertiserCache,
    /// Slots for searches and other heavy work.
    pub work: Arc<WorkSlots>,
    /// The timeline of every ad (the search page without a query or
    /// filters, its most asked), with the number of sources it reflects.
    pub timeline_of_all:
        Arc<std::sync::Mutex<Option<(u64, crate::search::collect::TimelineCounts)>>>,
    /// The logs this instance witnesses (their verifier keys) and its
    /// witness key; `None` when it witnesses none.
    pub witness: Option<Arc<(Vec<String>, crate::tlog::WitnessKey)>>,
}

/// Counts of running exports: a cap over all clients and one per client,
/// so that stalled downloads cannot hold the server's threads and memory.
pub struct ExportSlots {
    max: usize,
    per_client: usize,
    /// Exports running per client.
    running: Mutex<HashMap<Option<ClientKey>, usize>>,
}

/// One running export; its slot is given back when dropped.
pub struct ExportSlot {
    slots: Arc<ExportSlots>,
    client: Option<ClientKey>,
}

impl ExportSlots {
    /// At most `max` exports at once, `per_client` of them one client's.
    pub fn new(max: usize, per_client: usize) -> Self {
        ExportSlots {
            max: max.max(1),
            per_client: per_client.max(1),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for an export of `client`, or why there is none.
    pub fn take(self: &Arc<Self>, client: Option<ClientKey>) -> Result<ExportSlot, ApiError> {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = running.get(&client).copied().unwrap_or(0);
        if mine >= self.per_client {
            return Err(ApiError::TooManyAtOnce(format!(
                "this client runs {mine} export(s) already, as many as it may; resume the next one from its cursor when that one ends"
            )));
        }
        if running.values().sum::<usize>() >= self.max {
            return Err(ApiError::Busy(
                "the server runs as many exports as it can; try again shortly".into(),
            ));
        }
        *running.entry(client).or_insert(0) += 1;
        Ok(ExportSlot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        let mut running = self
            .slots
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = running.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.client);
            }
        }
    }
}

/// Advertiser entities of one archive generation (its number of sources):
/// built by the first request that needs them, shared by the others.
#[derive(Default)]
pub struct AdvertiserCache(Mutex<Option<(u64, Arc<Vec<Entity>>)>>);

impl AdvertiserCache {
    /// The entities of the archive as it is now.
    pub fn get(&self, archive: &Archive) -> crate::Result<Arc<Vec<Entity>>> {
        let generation = archive.source_count()?;
        // Held while building: concurrent first requests wait for one
        // build instead of each making their own.
        let mut cached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((built, entities)) = cached.as_ref() {
            if *built == generation {
                return Ok(entities.clone());
            }
        }
        let entities = Arc::new(crate::advertisers::entities(
            archive.advertiser_identities()?,
        ));
        *cached = Some((generation, entities.clone()));
        Ok(entities)
    }
}

/// Searches, spend totals and advertiser answers running at once: as many
/// as there are cores, and, when per-client limits are on, at most half of
/// them one client's. Work that starts alone may spread over every core;
/// work that starts beside other work runs on its own thread (see
/// [`crate::search::SearchRequest::parallel`]), so that the system shares
/// the cores between them and a short search never waits behind a long
/// one's segments. The slots keep the cores from being shared between more
/// searches than they can run, and a client of expensive requests from
/// holding every core: everyone else always finds one free.
pub struct WorkSlots {
    /// Slots over all clients, handed out first come, first served.
    all: Arc<tokio::sync::Semaphore>,
    max: usize,
    per_client: usize,
    /// Slots held or waited for per client, when clients are limited.
    clients: Mutex<HashMap<Option<ClientKey>, usize>>,
    freed: tokio::sync::Notify,
}

/// Heavy work of one request; its slot is given back when dropped.
pub struct WorkSlot {
    slots: Arc<WorkSlots>,
    client: Option<ClientKey>,
    _permit: tokio::sync::OwnedSemaphorePermit,
    alone: bool,
}

impl WorkSlot {
    /// Whether no other heavy work ran when this slot was taken: the work
    /// may then spread over every core.
    pub fn alone(&self) -> bool {
        self.alone
    }
}

impl WorkSlots {
    /// `max` slots, `per_client` of them one client's at most.
    pub fn new(max: usize, per_client: usize) -> Self {
        let max = max.max(1);
        WorkSlots {
            all: Arc::new(tokio::sync::Semaphore::new(max)),
            max,
            per_client: per_client.clamp(1, max),
            clients: Mutex::new(HashMap::new()),
            freed: tokio::sync::Notify::new(),
        }
    }

    fn limits_clients(&self) -> bool {
        self.per_client < self.max
    }

    /// Counts one more slot of `client`, if it may have one.
    fn enter(&self, client: Option<ClientKey>) -> bool {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = clients.entry(client).or_insert(0);
        if *mine >= self.per_client {
            return false;
        }
        *mine += 1;
        true
    }

    fn leave(&self, client: Option<ClientKey>) {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = clients.get_mut(&client) {
            *n -= 1;
            if *n == 0 {
                clients.remove(&client);
            }
        }
        drop(clients);
        self.freed.notify_waiters();
    }

    /// Waits for a slot of `client`: first for its own turn (when clients
    /// are limited), then in line with everyone else.
    pub async fn take(self: &Arc<Self>, client: Option<ClientKey>) -> Result<WorkSlot, ApiError> {
        if self.limits_clients() {
            loop {
                // Registered before looking, so that a slot freed in
                // between is not missed.
                let freed = self.freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                if self.enter(client) {
                    break;
                }
                freed.await;
            }
        }
        // Given back if this future is dropped while it waits in line.
        let mut entered = Entered {
            slots: self,
            client,
            waiting: true,
        };
        let permit = self
            .all
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(format!("work slots: {e}").into()))?;
        // From here the slot gives the count back.
        entered.waiting = false;
        Ok(WorkSlot {
            slots: self.clone(),
            client,
            alone: self.all.available_permits() + 1 == self.max,
            _permit: permit,
        })
    }
}

/// A client's count taken before its slot is: undone if the wait ends
/// without one.
struct Entered<'a> {
    slots: &'a WorkSlots,
    client: Option<ClientKey>,
    waiting: bool,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if self.waiting && self.slots.limits_clients() {
            self.slots.leave(self.client);
        }
    }
}

impl Drop for WorkSlot {
    fn drop(&mut self) {
        if self.slots.limits_clients() {
            self.slots.leave(self.client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_client_never_holds_every_work_slot() {
        let slots = Arc::new(WorkSlots::new(2, 1));
        let heavy = Some(ClientKey::of("192.0.2.1".parse().unwrap()));
        let other = Some(ClientKey::of("192.0.2.2".parse().unwrap()));
        let first = slots.take(heavy).await.unwrap();
        assert!(first.alone(), "nothing else runs: it may spread");
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), slots.take(heavy));
        assert!(second.await.is_err(), "one slot per client of two");
        assert_eq!(
            slots.clients.lock().unwrap().get(&heavy),
            Some(&1),
            "a wait given up gives its count back"
        );
        let mine = slots.take(other).await.unwrap();
        assert!(!mine.alone(), "beside another: on its own thread");
        assert_eq!(slots.all.available_permits(), 0, "every slot is taken");
        let waiting = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take(heavy).await.unwrap().client }
        });
        tokio::task::yield_now().await;
        drop(first);
        assert_eq!(
            waiting.await.unwrap(),
            heavy,
            "a freed slot wakes the waiting request"
        );
        drop(mine);
    }
}
