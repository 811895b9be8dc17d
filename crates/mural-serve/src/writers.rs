//! Writer names to writers: `builtin`, `verbatim`, and the writer profiles
//! of `mural.toml` (`[writers.NAME]`, LLM writers), built through
//! `mural_llm::build` with the server's environment lookup (keys stay in
//! the writer; error messages are scrubbed of them by the writer itself).
//! Ad-hoc specs (`openai:MODEL`, `gguf:PATH`) are not taken from clients:
//! a client names what the operator configured.

use crate::{AppError, AppState};
use mural_prompt::Writer;
use std::sync::Arc;

impl AppState {
    /// The writers a request may name, builtin first, and the default
    /// (`[defaults] writer`, which may be a spec like `openai:MODEL`).
    pub(crate) fn writer_names(&self) -> Vec<String> {
        let mut names = vec!["builtin".to_string(), "verbatim".to_string()];
        names.extend(
            self.inner
                .writers
                .keys()
                .filter(|n| *n != "builtin" && *n != "verbatim")
                .cloned(),
        );
        if let Some(d) = &self.inner.defaults.writer {
            if !names.contains(d) {
                names.push(d.clone());
            }
        }
        names
    }

    /// Builds the writer `name` (default: `[defaults] writer`, else builtin). Building an LLM writer
    /// sends nothing; its calls happen when it writes, which the server
    /// does on a blocking thread.
    pub(crate) fn writer(&self, name: Option<&str>) -> Result<Arc<dyn Writer>, AppError> {
        let name = name
            .or(self.inner.defaults.writer.as_deref())
            .unwrap_or("builtin")
            .trim();
        let known = self.writer_names();
        if !known.iter().any(|n| n == name) {
            return Err(AppError::invalid(
                "writer",
                format!(
                    "unknown writer {:?}; this server has: {}",
                    name.chars().take(80).collect::<String>(),
                    known.join(", ")
                ),
            ));
        }
        let env = self.inner.env.clone();
        let lookup = move |k: &str| env(k);
        // the catalog's word on the model: a shut-down one stops here
        mural_llm::lifecycle(name, &self.inner.writers, &lookup)
            .map_err(|e| AppError::invalid("writer", self.scrub(&e.to_string())))?;
        let w = mural_llm::build(name, &self.inner.writers, &lookup, None)
            .map_err(|e| AppError::invalid("writer", self.scrub(&e.to_string())))?;
        Ok(Arc::from(w))
    }
}
