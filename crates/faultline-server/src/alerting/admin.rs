//! Alert rules and channels managed through the API. Those of the config
//! file are read-only (change them there); those created through the API
//! are saved in the store and merged with the config's at start.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use faultline_alert::engine::{Engine, Rule};
use faultline_alert::notify::Channel;
use faultline_store::Storage;

use crate::alerting::{Alerting, AlertsConfig};

const RULES_KEY: &str = "alert-rules-api";
const CHANNELS_KEY: &str = "alert-channels-api";

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} {1:?} is defined in the config file; change it there")]
    FromConfig(&'static str, String),
    #[error("{0} {1:?} exists; PUT replaces it")]
    Exists(&'static str, String),
    #[error("no {0} {1:?}")]
    NotFound(&'static str, String),
    #[error("storage: {0}")]
    Storage(String),
}

pub struct Admin {
    config_rules: HashSet<String>,
    config_channels: HashSet<String>,
    api: Mutex<(Vec<Rule>, Vec<Channel>)>,
    /// Held by `install_stored`.
    syncing: Mutex<()>,
}

impl Admin {
    pub fn load(storage: &Storage, config: &AlertsConfig) -> anyhow::Result<Admin> {
        let read = |key: &str| -> anyhow::Result<Option<Vec<u8>>> { Ok(storage.state(key)?) };
        let rules: Vec<Rule> =
            read(RULES_KEY)?.map(|b| serde_json::from_slice(&b)).transpose()?.unwrap_or_default();
        let channels: Vec<Channel> =
            read(CHANNELS_KEY)?.map(|b| serde_json::from_slice(&b)).transpose()?.unwrap_or_default();
        Ok(Admin {
            config_rules: config.rules.iter().map(|r| r.id().to_string()).collect(),
            config_channels: config.channels.iter().map(|c| c.id.clone()).collect(),
            api: Mutex::new((rules, channels)),
            syncing: Mutex::new(()),
        })
    }

    /// The config's rules and channels, then the API's (whose ids the
    /// config does not use).
    pub fn merged(&self, config: &AlertsConfig) -> (Vec<Rule>, Vec<Channel>) {
        let api = self.api.lock().unwrap_or_else(|p| p.into_inner());
        let mut rules = config.rules.clone();
        rules.extend(api.0.iter().filter(|r| !self.config_rules.contains(r.id())).cloned());
        let mut channels = config.channels.clone();
        channels.extend(api.1.iter().filter(|c| !self.config_channels.contains(&c.id)).cloned());
        (rules, channels)
    }

    pub fn rule_source(&self, id: &str) -> &'static str {
        if self.config_rules.contains(id) {
            "config"
        } else {
            "api"
        }
    }

    pub fn channel_source(&self, id: &str) -> &'static str {
        if self.config_channels.contains(id) {
            "config"
        } else {
            "api"
        }
    }
}

/// What a change does to the API-managed lists.
#[derive(Clone)]
enum Change {
    PutRule(Box<Rule>, bool),
    DeleteRule(String),
    PutChannel(Channel, bool),
    DeleteChannel(String),
}

impl Alerting {
    pub async fn create_rule(self: &Arc<Self>, rule: Rule) -> Result<(), AdminError> {
        self.change(Change::PutRule(Box::new(rule), true)).await
    }

    pub async fn replace_rule(self: &Arc<Self>, rule: Rule) -> Result<(), AdminError> {
        self.change(Change::PutRule(Box::new(rule), false)).await
    }

    pub async fn delete_rule(self: &Arc<Self>, id: String) -> Result<(), AdminError> {
        self.change(Change::DeleteRule(id)).await
    }

    pub async fn create_channel(self: &Arc<Self>, channel: Channel) -> Result<(), AdminError> {
        self.change(Change::PutChannel(channel, true)).await
    }

    pub async fn replace_channel(self: &Arc<Self>, channel: Channel) -> Result<(), AdminError> {
        self.change(Change::PutChannel(channel, false)).await
    }

    pub async fn delete_channel(self: &Arc<Self>, id: String) -> Result<(), AdminError> {
        self.change(Change::DeleteChannel(id)).await
    }

    /// Applies a change: checks it against the whole set (rules must name
    /// existing channels), saves it, then swaps rules into the running
    /// engine (firing alerts of kept rules carry on; removed rules' alerts
    /// resolve) and channels into the channel table.
    async fn change(self: &Arc<Self>, change: Change) -> Result<(), AdminError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            me.save_change(change)?;
            // What the store has now, which may hold another request's
            // change saved after this one.
            me.install_stored().map(|_| ()).map_err(|e| AdminError::Invalid(format!("{e:#}")))
        })
        .await
        .map_err(|e| AdminError::Storage(e.to_string()))?
    }

    /// Applies a change to the API's lists as the store has them now and
    /// saves them. The lists are saved whole, so the read, the change and
    /// the save go through `update_states`: when another request (on this
    /// node or another sharing the store) saved in between, the change is
    /// checked and applied again on the newer lists instead of overwriting
    /// them. Blocking (store calls).
    fn save_change(&self, change: Change) -> Result<(), AdminError> {
        let config_rules: Vec<Rule> =
            self.rules().into_iter().filter(|r| self.admin.rule_source(r.id()) == "config").collect();
        let config_channels: Vec<Channel> =
            self.channels().into_iter().filter(|c| self.admin.channel_source(&c.id) == "config").collect();
        let mut outcome = None;
        self.storage()
            .update_states(&[RULES_KEY, CHANNELS_KEY], &mut |stored| {
                let changed = changed_lists(self, stored, &config_rules, &config_channels, change.clone());
                let bytes = changed.as_ref().ok().cloned();
                outcome = Some(changed.map(|_| ()));
                bytes
            })
            .map_err(|e| AdminError::Storage(e.to_string()))?;
        outcome.unwrap_or_else(|| Err(AdminError::Storage("the change was never applied".into())))
    }

    /// Makes the given API lists (with the config's) the running rules and
    /// channels.
    fn install(&self, rules: Vec<Rule>, channels: Vec<Channel>) -> anyhow::Result<()> {
        let current = self.rules();
        let all_channels = self.channels();
        let config = AlertsConfig {
            rules: current
                .iter()
                .filter(|r| self.admin.rule_source(r.id()) == "config")
                .cloned()
                .chain(rules.iter().filter(|r| self.admin.rule_source(r.id()) == "api").cloned())
                .collect(),
            channels: all_channels
                .iter()
                .filter(|c| self.admin.channel_source(&c.id) == "config")
                .cloned()
                .chain(channels.iter().filter(|c| self.admin.channel_source(&c.id) == "api").cloned())
                .collect(),
            ..Default::default()
        };
        {
            let mut engine = self.engine();
            let state = engine.state();
            *engine = Engine::restore(config.rules.clone(), state)?;
        }
        *self.channels.lock().unwrap_or_else(|p| p.into_inner()) =
            config.channels.into_iter().map(|c| (c.id.clone(), c)).collect();
        *self.admin.api.lock().unwrap_or_else(|p| p.into_inner()) = (rules, channels);
        Ok(())
    }

    /// Takes the API's rules and channels as the store has them now: with
    /// several nodes on one store another node may have changed them.
    /// Blocking (store reads).
    pub(crate) fn sync_admin(&self) -> anyhow::Result<()> {
        if self.install_stored()? {
            tracing::info!("alert rules and channels changed through another node taken over");
        }
        Ok(())
    }

    /// Installs the API's lists as stored now; true if they differed from
    /// the running ones. Blocking (store reads).
    fn install_stored(&self) -> anyhow::Result<bool> {
        // One read-and-install at a time, so an older read is never
        // installed over a newer one.
        let _syncing = self.admin.syncing.lock().unwrap_or_else(|p| p.into_inner());
        let stored = Admin::load(self.storage(), &AlertsConfig::default())?;
        let (rules, channels) = stored.api.into_inner().unwrap_or_else(|p| p.into_inner());
        let (known_rules, known_channels) = self.api_lists();
        if serde_json::to_value(&rules)? == serde_json::to_value(&known_rules)?
            && serde_json::to_value(&channels)? == serde_json::to_value(&known_channels)?
        {
            return Ok(false);
        }
        self.install(rules, channels)?;
        Ok(true)
    }

    fn api_lists(&self) -> (Vec<Rule>, Vec<Channel>) {
        self.admin.api.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The stored API lists (rules, channels) after `change`, checked against
/// the config's, as the bytes to save.
fn changed_lists(
    alerting: &Alerting,
    stored: &[Option<Vec<u8>>],
    config_rules: &[Rule],
    config_channels: &[Channel],
    change: Change,
) -> Result<Vec<Vec<u8>>, AdminError> {
    let corrupt = |e: serde_json::Error| AdminError::Storage(format!("stored rules or channels: {e}"));
    let decode = |i: usize| stored.get(i).cloned().flatten();
    let mut rules: Vec<Rule> =
        decode(0).map(|b| serde_json::from_slice(&b)).transpose().map_err(corrupt)?.unwrap_or_default();
    let mut channels: Vec<Channel> =
        decode(1).map(|b| serde_json::from_slice(&b)).transpose().map_err(corrupt)?.unwrap_or_default();
    let admin = &alerting.admin;
    let current: Vec<Rule> = config_rules
        .iter()
        .cloned()
        .chain(rules.iter().filter(|r| admin.rule_source(r.id()) == "api").cloned())
        .collect();
    let all_channels: Vec<Channel> = config_channels
        .iter()
        .cloned()
        .chain(channels.iter().filter(|c| admin.channel_source(&c.id) == "api").cloned())
        .collect();
    apply(admin, &mut rules, &mut channels, &current, &all_channels, change)?;
    let config = AlertsConfig {
        rules: config_rules.iter().cloned().chain(rules.iter().cloned()).collect(),
        channels: config_channels.iter().cloned().chain(channels.iter().cloned()).collect(),
        ..Default::default()
    };
    config.validate().map_err(|e| AdminError::Invalid(format!("{e:#}")))?;
    let encode = |e: serde_json::Error| AdminError::Storage(e.to_string());
    Ok(vec![serde_json::to_vec(&rules).map_err(encode)?, serde_json::to_vec(&channels).map_err(encode)?])
}

fn apply(
    admin: &Admin,
    rules: &mut Vec<Rule>,
    channels: &mut Vec<Channel>,
    current: &[Rule],
    all_channels: &[Channel],
    change: Change,
) -> Result<(), AdminError> {
    match change {
        Change::PutRule(rule, create) => {
            if admin.config_rules.contains(rule.id()) {
                return Err(AdminError::FromConfig("rule", rule.id().to_string()));
            }
            let exists = current.iter().any(|r| r.id() == rule.id());
            if create && exists {
                return Err(AdminError::Exists("rule", rule.id().to_string()));
            }
            rules.retain(|r| r.id() != rule.id());
            rules.push(*rule);
        }
        Change::DeleteRule(id) => {
            if admin.config_rules.contains(&id) {
                return Err(AdminError::FromConfig("rule", id));
            }
            if !rules.iter().any(|r| r.id() == id) {
                return Err(AdminError::NotFound("rule", id));
            }
            rules.retain(|r| r.id() != id);
        }
        Change::PutChannel(channel, create) => {
            if admin.config_channels.contains(&channel.id) {
                return Err(AdminError::FromConfig("channel", channel.id));
            }
            if create && all_channels.iter().any(|c| c.id == channel.id) {
                return Err(AdminError::Exists("channel", channel.id));
            }
            channel.validate().map_err(|e| AdminError::Invalid(e.to_string()))?;
            channels.retain(|c| c.id != channel.id);
            channels.push(channel);
        }
        Change::DeleteChannel(id) => {
            if admin.config_channels.contains(&id) {
                return Err(AdminError::FromConfig("channel", id));
            }
            if !channels.iter().any(|c| c.id == id) {
                return Err(AdminError::NotFound("channel", id));
            }
            if let Some(rule) = current.iter().find(|r| r.channels().contains(&id)) {
                return Err(AdminError::Invalid(format!(
                    "rule {:?} sends to channel {id:?}; change the rule first",
                    rule.id()
                )));
            }
            channels.retain(|c| c.id != id);
        }
    }
    Ok(())
}
