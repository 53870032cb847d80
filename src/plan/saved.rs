//! The plan for programs (`--output json`) and the saved plan file (`--out plan.json`).
//!
//! Both are the same document, made from the same [`Plan`] as the human view: a versioned
//! list of changes with reasons and a summary. The saved file adds the plan itself under
//! `plan`, which `apply plan.json` executes after checking that the engine still matches
//! the recorded fingerprint. Neither holds a secret value: environment secrets appear as
//! references only.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Action, FORMAT_VERSION, Note, Plan, Reason, Summary};
use crate::desired::ReplaceOrder;

/// The JSON view of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanJson {
    /// The version of this format.
    pub format_version: String,
    /// The stack.
    pub stack: String,
    /// The digest of the observed state the plan was made from.
    pub fingerprint: String,
    /// The number of objects each action touches.
    pub summary: Summary,
    /// Every object, in the order apply takes them; no-ops included.
    pub changes: Vec<ChangeJson>,
    /// Notes that are not actions.
    pub notes: Vec<NoteJson>,
}

/// One object's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeJson {
    /// `network`, `volume`, `image` or `container`.
    pub object: String,
    /// The engine-wide name.
    pub name: String,
    /// The service a container belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// A container's replica number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<u32>,
    /// `create`, `update`, `replace`, `delete` or `no-op`.
    pub action: String,
    /// For a replacement: `create_then_delete` or `delete_then_create`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_order: Option<ReplaceOrder>,
    /// Why, structured and as the sentence the human view prints.
    pub reasons: Vec<ReasonJson>,
}

/// A reason with its sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonJson {
    /// The structured reason (`kind` and its fields).
    #[serde(flatten)]
    pub reason: Reason,
    /// The sentence the human view prints.
    pub message: String,
}

/// A note with its sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteJson {
    /// The structured note.
    #[serde(flatten)]
    pub note: Note,
    /// The sentence the human view prints.
    pub message: String,
}

impl PlanJson {
    /// The JSON view of a plan.
    pub fn new(plan: &Plan) -> Self {
        let changes = plan
            .objects()
            .into_iter()
            .map(|object| ChangeJson {
                object: object.kind.to_string(),
                name: object.name.to_string(),
                service: object.service.map(str::to_string),
                replica: object.replica,
                action: object.action.name().to_string(),
                replace_order: match object.action {
                    Action::Replace(order) => Some(order),
                    Action::NoOp | Action::Create | Action::Update | Action::Delete => None,
                },
                reasons: object
                    .reasons
                    .iter()
                    .map(|reason| ReasonJson {
                        reason: reason.clone(),
                        message: reason.to_string(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            format_version: FORMAT_VERSION.to_string(),
            stack: plan.stack.clone(),
            fingerprint: plan.fingerprint.clone(),
            summary: plan.summary(),
            changes,
            notes: plan
                .notes
                .iter()
                .map(|note| NoteJson {
                    note: note.clone(),
                    message: note.to_string(),
                })
                .collect(),
        }
    }

    /// Pretty JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// A plan saved to a file: the JSON view plus the plan apply executes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// The view, as `--output json` prints it.
    #[serde(flatten)]
    pub view: PlanJson,
    /// The plan itself.
    pub plan: Plan,
}

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The file cannot be read or written.
    #[error("cannot {action} saved plan `{path}`: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a saved plan.
    #[error("`{path}` is not a saved plan: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The file was written by a version with another format.
    #[error(
        "saved plan `{path}` has format version `{found}`; this stackwright reads \
         `{FORMAT_VERSION}`\nhint: make the plan again with this version"
    )]
    Version {
        /// The file.
        path: String,
        /// The version found.
        found: String,
    },
}

impl SavedPlan {
    /// The saved form of a plan.
    pub fn new(plan: &Plan) -> Self {
        Self {
            view: PlanJson::new(plan),
            plan: plan.clone(),
        }
    }

    /// Writes the plan to a file.
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|source| SavedPlanError::Io {
            action: "write",
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads a plan from a file, checking its format version.
    pub fn read(path: &Path) -> Result<Self, SavedPlanError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SavedPlanError::Io {
            action: "read",
            path: shown.clone(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|err| SavedPlanError::Invalid {
                path: shown.clone(),
                message: err.to_string(),
            })?;
        let found = value
            .get("format_version")
            .and_then(|v| v.as_str())
            .unwrap_or("(none)");
        if found != FORMAT_VERSION {
            return Err(SavedPlanError::Version {
                path: shown,
                found: found.to_string(),
            });
        }
        serde_json::from_value(value).map_err(|err| SavedPlanError::Invalid {
            path: shown,
            message: err.to_string(),
        })
    }
}
