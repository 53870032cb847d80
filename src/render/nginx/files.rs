//! The gateway's generated files as apply uploads them into the running container.
//!
//! Plans compare the gateway with [`GatewayConfig::render`]: every replica the spec asks for.
//! While replicas come and go, apply asks for [`GatewayConfig::render_live`] with the
//! replicas that run at that moment, so the gateway never lists one that cannot answer.

use std::collections::BTreeMap;

use super::{Backend, ServiceTraffic, Traffic, render_nginx};
use crate::desired::{Backends, ConfigFiles, FileSet, LiveFiles};
use crate::render::layout;
use crate::spec::Stack;

/// The nginx configuration of one stack's gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    stack: Stack,
}

impl GatewayConfig {
    /// The gateway of `stack`.
    pub fn new(stack: Stack) -> Self {
        Self { stack }
    }

    fn files(stack: &Stack, traffic: &Traffic) -> Result<FileSet, String> {
        if stack.gateway.is_none() {
            return Ok(FileSet::default());
        }
        let conf = render_nginx(stack, traffic).map_err(|err| err.to_string())?;
        Ok(FileSet {
            files: BTreeMap::from([(
                layout::NGINX_CONF_IN_CONTAINER.to_string(),
                conf.into_bytes(),
            )]),
            reload: Vec::new(),
        })
    }
}

impl ConfigFiles for GatewayConfig {
    fn render(&self, stack: &Stack) -> Result<FileSet, String> {
        Self::files(stack, &Traffic::stable(stack))
    }
}

impl LiveFiles for GatewayConfig {
    fn render_live(&self, backends: &Backends) -> Result<FileSet, String> {
        let mut traffic = Traffic::default();
        for (service, names) in backends {
            let port = self
                .stack
                .services
                .get(service)
                .and_then(|s| s.port)
                .unwrap_or(80);
            let backends = names
                .iter()
                .map(|name| Backend::new(name.clone(), port))
                .collect();
            traffic.set(service, ServiceTraffic::even(backends));
        }
        Self::files(&self.stack, &traffic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "version: 1\nname: s\nservices:\n  api: { image: a, replicas: 2, \
                        port: 8000 }\ngateway: { listen: 8080, routes: { /: api } }\n";

    fn conf(files: &FileSet) -> String {
        String::from_utf8(files.files[layout::NGINX_CONF_IN_CONTAINER].clone()).unwrap()
    }

    #[test]
    fn live_files_list_only_the_running_replicas_and_equal_the_plan_when_all_run() {
        let stack: Stack = serde_saphyr::from_str(SPEC).unwrap();
        let config = GatewayConfig::new(stack.clone());
        let planned = config.render(&stack).unwrap();

        let one = Backends::from([("api".to_string(), vec!["s-api-2".to_string()])]);
        let live = conf(&config.render_live(&one).unwrap());
        assert!(live.contains("server s-api-2:8000"), "{live}");
        assert!(!live.contains("s-api-1"), "{live}");

        let both = Backends::from([(
            "api".to_string(),
            vec!["s-api-1".to_string(), "s-api-2".to_string()],
        )]);
        assert_eq!(config.render_live(&both).unwrap(), planned);
    }

    #[test]
    fn a_service_with_no_running_replica_still_gives_a_valid_file() {
        let stack: Stack = serde_saphyr::from_str(SPEC).unwrap();
        let config = GatewayConfig::new(stack);
        let none = Backends::from([("api".to_string(), Vec::new())]);
        let text = conf(&config.render_live(&none).unwrap());
        assert!(text.contains("return 503"), "{text}");
    }
}
