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
        let (mut rules, mut channels) = self.api_lists();
        let current = self.rules();
        let all_channels = self.channels();
        apply(&self.admin, &mut rules, &mut channels, &current, &all_channels, change)?;
        let config = AlertsConfig {
            rules: current
                .iter()
                .filter(|r| self.admin.rule_source(r.id()) == "config")
                .cloned()
                .chain(rules.clone())
                .collect(),
            channels: all_channels
                .iter()
                .filter(|c| self.admin.channel_source(&c.id) == "config")
                .cloned()
                .chain(channels.clone())
                .collect(),
            ..Default::default()
        };
        config.validate().map_err(|e| AdminError::Invalid(format!("{e:#}")))?;
        self.save(RULES_KEY, &rules).await?;
        self.save(CHANNELS_KEY, &channels).await?;
        {
            let mut engine = self.engine();
            let state = engine.state();
            *engine = Engine::restore(config.rules.clone(), state)
                .map_err(|e| AdminError::Invalid(e.to_string()))?;
        }
        *self.channels.lock().unwrap_or_else(|p| p.into_inner()) =
            config.channels.into_iter().map(|c| (c.id.clone(), c)).collect();
        *self.admin.api.lock().unwrap_or_else(|p| p.into_inner()) = (rules, channels);
        Ok(())
    }

    /// Takes the API's rules and channels as the store has them now: with
    /// several nodes on one store another node may have changed them (the
    /// lists are saved whole, so of two changes at the same moment on two
    /// nodes the later one wins). Blocking (store reads).
    pub(crate) fn sync_admin(&self) -> anyhow::Result<()> {
        let stored = Admin::load(self.storage(), &AlertsConfig::default())?;
        let (rules, channels) = stored.api.into_inner().unwrap_or_else(|p| p.into_inner());
        let (known_rules, known_channels) = self.api_lists();
        if serde_json::to_value(&rules)? == serde_json::to_value(&known_rules)?
            && serde_json::to_value(&channels)? == serde_json::to_value(&known_channels)?
        {
            return Ok(());
        }
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
        tracing::info!("alert rules and channels changed through another node taken over");
        Ok(())
    }

    fn api_lists(&self) -> (Vec<Rule>, Vec<Channel>) {
        self.admin.api.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn save<T: serde::Serialize>(&self, key: &str, value: &T) -> Result<(), AdminError> {
        let bytes = serde_json::to_vec(value).map_err(|e| AdminError::Storage(e.to_string()))?;
        let answer = self.storage().put_state(key, bytes).map_err(|e| AdminError::Storage(e.to_string()))?;
        answer
            .await
            .map_err(|e| AdminError::Storage(e.to_string()))?
            .map_err(|e| AdminError::Storage(e.to_string()))
    }
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
