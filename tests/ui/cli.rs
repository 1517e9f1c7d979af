//! The command line opens the window without a subcommand and knows a global `--demo`.

use clap::Parser;
use exo_connect::cli::Cli;

#[test]
fn demo_is_a_global_flag() {
    let cli = Cli::try_parse_from(["exo-connect", "--demo"]).unwrap();
    assert!(cli.demo);
    assert!(cli.command.is_none(), "no subcommand: the window opens");
    let cli = Cli::try_parse_from(["exo-connect", "profile", "list", "--demo"]).unwrap();
    assert!(cli.demo);
    let cli = Cli::try_parse_from(["exo-connect"]).unwrap();
    assert!(!cli.demo);
}

#[test]
fn demo_profiles_live_apart_from_real_ones() {
    let real = exo_connect::ui::config_root(false);
    let demo = exo_connect::ui::config_root(true);
    assert_eq!(demo, real.join("demo"));
}
