//! What every handler shares: the archive, the export slots and the
//! advertiser entities of the current archive generation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::error::ApiError;
use super::limit::ClientKey;
use crate::advertisers::Entity;
use crate::archive::Archive;

/// What every handler shares.
pub struct AppState {
    /// The archive, opened once.
    pub archive: Arc<Archive>,
    /// Exports running, over all clients and per client.
    pub exports: Arc<ExportSlots>,
    /// Advertiser entities, computed once per archive generation.
    pub advertisers: AdvertiserCache,
    /// Slots for searches and other heavy work.
    pub work: Arc<WorkSlots>,
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
/// them one client's. Each search runs on its own thread (see
/// [`crate::index::SearchThreads::Caller`]), so this is what keeps the
/// cores from being shared between more searches than they can run, and
/// what keeps a client of expensive requests from holding every core:
/// everyone else always finds one free.
pub struct WorkSlots {
    max: usize,
    per_client: usize,
    running: Mutex<HashMap<Option<ClientKey>, usize>>,
    freed: tokio::sync::Notify,
}

/// Heavy work of one request; its slot is given back when dropped.
pub struct WorkSlot {
    slots: Arc<WorkSlots>,
    client: Option<ClientKey>,
}

impl WorkSlots {
    /// `max` slots, `per_client` of them one client's at most.
    pub fn new(max: usize, per_client: usize) -> Self {
        let max = max.max(1);
        WorkSlots {
            max,
            per_client: per_client.clamp(1, max),
            running: Mutex::new(HashMap::new()),
            freed: tokio::sync::Notify::new(),
        }
    }

    fn try_take(self: &Arc<Self>, client: Option<ClientKey>) -> Option<WorkSlot> {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mine = running.get(&client).copied().unwrap_or(0);
        if mine >= self.per_client || running.values().sum::<usize>() >= self.max {
            return None;
        }
        *running.entry(client).or_insert(0) += 1;
        Some(WorkSlot {
            slots: self.clone(),
            client,
        })
    }

    /// Waits for a slot of `client`.
    pub async fn take(self: &Arc<Self>, client: Option<ClientKey>) -> WorkSlot {
        loop {
            // Registered before looking, so that a slot freed in between
            // is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(slot) = self.try_take(client) {
                return slot;
            }
            freed.await;
        }
    }
}

impl Drop for WorkSlot {
    fn drop(&mut self) {
        {
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
        self.slots.freed.notify_waiters();
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
        let first = slots.take(heavy).await;
        assert!(
            slots.try_take(heavy).is_none(),
            "one slot per client of two"
        );
        let mine = slots.take(other).await;
        assert!(slots.try_take(None).is_none(), "every slot is taken");
        let waiting = tokio::spawn({
            let slots = slots.clone();
            async move { slots.take(heavy).await.client }
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
