//! The connector developer's workflow, one module per step of README.md's
//! "Adding a connector", in its order, then the sections after it. Each
//! step imports the ground floor and the steps it runs first (capture
//! builds, build provisions), never `maint`.
//!
//! 1. [`create`]: `new-connector`, the folder from the template.
//! 2. [`build`]: `build`, `expand`, `record-spec` (and the image).
//! 3. [`form`]: `spec`, `form`, checking the config form.
//! 4. [`discover`]: `discover` (a config stub first).
//! 5. [`capture`]: `capture`, documents checked against their schemas.
//! 6. [`ship`]: `ci-matrix`, what CI builds.
//!
//! Then: [`provision`] (running the real upstream locally), [`mock`] (a
//! mock of the API, `capture --mock`), [`update`] (`bump`, `pull`).
//! [`session`] is what `spec`, `discover` and `capture` share: the built
//! binary and the work folder (`target/workflow/<connector>/`).

pub mod build;
pub mod capture;
pub mod create;
pub mod declarative;
pub mod discover;
pub mod form;
pub mod mock;
pub mod provision;
pub mod session;
pub mod ship;
pub mod update;
