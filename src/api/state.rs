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
