//! Window tests: kittest drives the app by accessible label, against a fake backend or the real driver and the sim.

#[path = "../common/mod.rs"]
mod common;

mod admin_api;
mod after_disconnect;
mod app;
mod bulk;
mod catalogue_check;
mod cli;
mod completion;
mod confirm;
mod connect_queue;
mod doctor;
mod engine;
mod fanout;
mod fanout_live;
mod favourites_search;
mod feedback;
mod heap;
mod idle;
mod input_burst;
mod limit_undo;
mod outputs;
mod panes;
mod pickers;
mod proxy_route;
mod pwsh;
mod quick_connect;
mod restore;
mod restore_many;
mod scale;
mod screens;
mod service_hint;
mod small_window;
mod tree;
mod undo;
mod validation;
mod window;
mod workspace;
