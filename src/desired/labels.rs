//! The label keys that record Stackwright's state on Docker objects, in one place.
//!
//! State lives in the engine: every object Stackwright creates carries these labels, and
//! `engine::observe` reads them back (once, into typed fields) to learn what exists. No
//! label ever holds a secret value or an unkeyed digest of one: secret environment entries
//! appear in [`CONFIG`] as references only (`{ secret: NAME }`).

/// Marks an object as made by Stackwright; the value is always [`MANAGED_BY_VALUE`].
pub const MANAGED_BY: &str = "io.stackwright.managed-by";

/// The value of [`MANAGED_BY`].
pub const MANAGED_BY_VALUE: &str = "stackwright";

/// The stack an object belongs to; observe filters every list call on it.
pub const STACK: &str = "io.stackwright.stack";

/// What the object is to the stack; one of the `ROLE_*` values.
pub const ROLE: &str = "io.stackwright.role";

/// [`ROLE`] of a replica of one of the spec's services.
pub const ROLE_SERVICE: &str = "service";

/// [`ROLE`] of the gateway container.
pub const ROLE_GATEWAY: &str = "gateway";

/// [`ROLE`] of a monitoring container: Prometheus, Alertmanager, Grafana or an exporter.
pub const ROLE_MONITORING: &str = "monitoring";

/// [`ROLE`] of the stopped container whose existence is the stack's apply lock.
pub const ROLE_LOCK: &str = "lock";

/// [`ROLE`] of a network of the stack.
pub const ROLE_NETWORK: &str = "network";

/// [`ROLE`] of a named volume of the stack.
pub const ROLE_VOLUME: &str = "volume";

/// [`ROLE`] of an empty volume that records the generated files a running container got
/// in place (container labels cannot change after creation; see [`FILES`]).
pub const ROLE_FILES_RECORD: &str = "files-record";

/// The service a container belongs to (the spec's key, `gateway`, or a monitoring part's
/// name such as `prometheus`); on a volume, the service that mounts it.
pub const SERVICE: &str = "io.stackwright.service";

/// The replica number of a container, counting from 1.
pub const REPLICA: &str = "io.stackwright.replica";

/// The service's revision: 1 for the first configuration, one more for every configuration
/// that replaced the previous one. For people reading `docker ps`; never decides anything.
pub const REVISION: &str = "io.stackwright.revision";

/// The SHA-256 of [`CONFIG`]: equal hashes mean the container needs no replacement.
pub const CONFIG_HASH: &str = "io.stackwright.config-hash";

/// The canonical JSON of the container's hashed configuration, so a plan can say which
/// field changed without inspecting every container (like kubectl's last-applied
/// configuration). Secret entries are references, never values.
pub const CONFIG: &str = "io.stackwright.config";

/// The image reference the container was created from, for people and plan reasons
/// (the hashed configuration holds the image ID).
pub const IMAGE: &str = "io.stackwright.image";

/// The generated files a container was given, as a JSON map from path to SHA-256 of the
/// contents. Separate from [`CONFIG`] because a change of files is an in-place update
/// (upload and reload), not a replacement. On a files record this is the set uploaded
/// later in place, which supersedes the container's own label.
pub const FILES: &str = "io.stackwright.files";

/// On a files record: the ID of the container whose files it records.
pub const FILES_CONTAINER: &str = "io.stackwright.files-container";

/// On a network: the stack's short name for it (`front`, `back`).
pub const NETWORK: &str = "io.stackwright.network";

/// On a volume: the volume's name in the spec.
pub const VOLUME: &str = "io.stackwright.volume";

/// On an image built from a `build:` section: the SHA-256 of its context, Dockerfile,
/// arguments and target, so a plan knows the image is current without building.
pub const BUILD_DIGEST: &str = "io.stackwright.build-digest";

/// On the lock container: who holds the lock (`user@host`).
pub const LOCK_HOLDER: &str = "io.stackwright.lock.holder";

/// On the lock container: the host name of the holder.
pub const LOCK_HOST: &str = "io.stackwright.lock.host";

/// On the lock container: the holder's process ID.
pub const LOCK_PID: &str = "io.stackwright.lock.pid";

/// On the lock container: the holder's process start time (clock ticks since boot, from
/// `/proc/<pid>/stat`), so a reused process ID is not mistaken for the holder.
pub const LOCK_PID_START: &str = "io.stackwright.lock.pid-start";

/// On the lock container: when the lock was taken (RFC 3339).
pub const LOCK_SINCE: &str = "io.stackwright.lock.since";

/// On the lock container: the command that holds it (`apply`, `destroy`).
pub const LOCK_COMMAND: &str = "io.stackwright.lock.command";

/// The engine filter (`label=KEY=VALUE`) that selects every object of a stack.
pub fn stack_filter(stack: &str) -> String {
    format!("{STACK}={stack}")
}
