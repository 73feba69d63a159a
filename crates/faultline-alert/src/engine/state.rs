//! Everything the engine knows, as one serializable value, so the server
//! can persist it (in sled, as JSON) and carry alerts, silences, windows
//! and anomaly history across restarts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::anomaly::Baselines;
use super::lifecycle::AlertTable;
use super::silence::Mutes;
use super::windows::RuleWindows;

/// Bumped when the layout changes incompatibly; a server that reads an
/// unknown version should start from [`EngineState::default`].
pub const STATE_VERSION: u32 = 1;

/// The engine's state. Opaque on purpose: persist it with serde and hand
/// it back to [`super::Engine::restore`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    pub version: u32,
    pub(crate) alerts: AlertTable,
    pub(crate) mutes: Mutes,
    /// `group_frequency` windows by rule id.
    pub(crate) windows: BTreeMap<String, RuleWindows>,
    pub(crate) baselines: Baselines,
}

impl Default for EngineState {
    fn default() -> EngineState {
        EngineState {
            version: STATE_VERSION,
            alerts: AlertTable::default(),
            mutes: Mutes::default(),
            windows: BTreeMap::new(),
            baselines: Baselines::default(),
        }
    }
}
