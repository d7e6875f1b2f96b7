//! The command line, as clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::env;

/// Latch: just-in-time access to AWS.
#[derive(Debug, Parser)]
#[command(name = "latch", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every client command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Which server and org a client command talks to.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Latch server URL (default: the one you last logged in to).
    #[arg(long, global = true, env = env::LATCH_SERVER)]
    pub server: Option<String>,
    /// Org slug (default: the one you last logged in to).
    #[arg(long, global = true, env = env::LATCH_ORG)]
    pub org: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the control plane.
    Server(ServerArgs),
    /// Sign in to an org with your browser (device authorization).
    Login {
        /// The org's slug.
        org: String,
    },
    /// Sign out: revoke the stored login and delete it.
    Logout {
        /// Sign out of every stored login.
        #[arg(long)]
        all: bool,
    },
    /// Set your password with a one-time enrollment token.
    Enroll {
        /// The token from the enrollment link.
        token: String,
        /// Read the new password from stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show who you are signed in as.
    Whoami {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ask for access: `latch request role Admin --account 123456789012 --reason …`.
    Request(RequestArgs),
    /// List access requests.
    Requests {
        /// Only yours.
        #[arg(long)]
        mine: bool,
        /// Only those waiting for your approval.
        #[arg(long)]
        to_approve: bool,
        /// Only in this state (pending, approved, active, …).
        #[arg(long)]
        state: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a request.
    Approve {
        /// Request id (`req_…`).
        id: String,
        /// Why (required for a break-glass approval of your own request).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Deny a request.
    Deny {
        /// Request id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Withdraw your own request before it is granted.
    Cancel {
        /// Request id.
        id: String,
    },
    /// Take access away early (approvers of the request and admins).
    Revoke {
        /// Request id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Give your access back early.
    Relinquish {
        /// Request id.
        id: String,
    },
    /// Keep your active access longer (within the policy's maximum).
    Extend {
        /// Request id.
        id: String,
        /// How much longer, like `30m` or `1h`.
        #[arg(long)]
        by: String,
    },
    /// AWS: assume a role or permission set, requesting access when needed.
    Aws(AwsArgs),
    /// What you can request and what you hold now.
    Ls(LsArgs),
    /// Print a shell completion script: `latch completions bash|zsh|fish`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// IAM policies: validate, simulate, explain (Latch's own evaluation engine).
    Iam {
        /// What to do.
        #[command(subcommand)]
        command: IamCommand,
    },
    /// Administration: people, groups, tokens, audit.
    Admin {
        /// What to administer.
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// `latch request` arguments.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// What kind of access: role, permission-set, group, policy or resource.
    pub kind: String,
    /// Its name (for a resource, its ARN).
    pub name: String,
    /// Account id (repeat for several accounts: one request, one approval).
    #[arg(long = "account", required = true)]
    pub accounts: Vec<String>,
    /// For resources: read, write or admin.
    #[arg(long)]
    pub level: Option<String>,
    /// Why you need it.
    #[arg(long, default_value = "")]
    pub reason: String,
    /// For how long, like `30m` or `2h` (default: the policy's).
    #[arg(long)]
    pub duration: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Wait until access is active (or denied, or the wait times out).
    #[arg(long)]
    pub wait: bool,
    /// How long to wait, like `5m`.
    #[arg(long, default_value = "5m")]
    pub wait_timeout: String,
}

/// `latch aws [options] …`.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS account ID or alias. Required if Latch is installed on several accounts.
    #[arg(long, global = true, env = env::LATCH_AWS_ACCOUNT)]
    pub account: Option<String>,
    /// Justification for audit and approver context.
    #[arg(long, global = true)]
    pub reason: Option<String>,
    /// Print debug information.
    #[arg(long, global = true)]
    pub debug: bool,
    /// What to do (without one: the commands for your accounts).
    #[command(subcommand)]
    pub command: Option<AwsCommand>,
}

/// `latch aws …` subcommands.
#[derive(Debug, Subcommand)]
pub enum AwsCommand {
    /// An IAM role, in accounts installed in iam-users or federated mode.
    Role {
        /// What to do.
        #[command(subcommand)]
        command: RoleCommand,
    },
    /// An Identity Center permission set, in accounts installed in identity-center mode.
    PermissionSet {
        /// What to do.
        #[command(subcommand)]
        command: PermissionSetCommand,
    },
    /// Run a command with a role's or permission set's credentials in its environment.
    Exec {
        /// The role or permission set.
        name: String,
        /// Skip the access request (use access you already hold).
        #[arg(long)]
        no_request: bool,
        /// How long to wait for approval.
        #[arg(long, default_value = "5m")]
        wait_timeout: String,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Write `~/.aws/config` profiles whose credentials come from `latch`.
    Configure {
        /// Prefix of the profile names.
        #[arg(long, default_value = "latch")]
        prefix: String,
        /// Print the profiles instead of writing them.
        #[arg(long)]
        print: bool,
    },
}

/// `latch aws role …`.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Assume a role: request access (unless `--no-request`), wait for it, print credentials.
    Assume {
        /// AWS IAM role name to assume.
        role: String,
        /// Create an access request before assuming the role (the default).
        #[arg(long, overrides_with = "no_request")]
        request: bool,
        /// Skip the access request (use access you already hold).
        #[arg(long)]
        no_request: bool,
        /// How to print the credentials.
        #[command(flatten)]
        output: AssumeOutput,
    },
}

/// `latch aws permission-set …`.
#[derive(Debug, Subcommand)]
pub enum PermissionSetCommand {
    /// Assume a permission set: request access, wait for it, print credentials.
    Assume {
        /// AWS permission set name to assume.
        permission_set: String,
        /// How to print the credentials.
        #[command(flatten)]
        output: AssumeOutput,
    },
}

/// Output options of `… assume`.
#[derive(Debug, Args, Clone)]
pub struct AssumeOutput {
    /// `export` (sh, bash, zsh; fish syntax when $SHELL is fish), `fish`,
    /// `credential-process` (the AWS CLI's JSON) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Export)]
    pub format: Format,
    /// How long to wait for approval, like `5m`.
    #[arg(long, default_value = "5m")]
    pub wait_timeout: String,
}

/// Credential output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `export NAME=value` lines (fish syntax when $SHELL is fish).
    Export,
    /// `set -gx NAME value;` lines.
    Fish,
    /// The JSON an AWS `credential_process` prints.
    CredentialProcess,
    /// Latch's JSON: the credentials, expiry, account and role.
    Json,
}

/// `latch ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Integration (only `aws`).
    pub integration: Option<String>,
    /// Kind: role, permission-set, group, policy or resource.
    pub kind: Option<String>,
    /// Only this account (id or alias).
    #[arg(long, env = env::LATCH_AWS_ACCOUNT)]
    pub account: Option<String>,
    /// Only what you hold now.
    #[arg(long)]
    pub active: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `latch iam …`.
#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// Evaluate cases read one JSON object a line from stdin; one result a line on stdout.
    Simulate {
        /// Read and write JSON lines (the only format).
        #[arg(long, required = true)]
        jsonl: bool,
    },
    /// Validate policy files; problems go to stderr with their positions.
    Validate {
        /// Policy type: identity, resource, trust, boundary, session, scp or rcp.
        #[arg(long = "type", default_value = "identity")]
        kind: String,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Explain one case's decision step by step.
    Explain {
        /// A file holding the case as JSON (default: stdin).
        file: Option<PathBuf>,
    },
    /// Who in the synced AWS inventory can make a request (asks the server; admins).
    WhoCan {
        /// `service:Action`.
        #[arg(long)]
        action: String,
        /// The resource ARN (`*` for actions without one).
        #[arg(long, default_value = "*")]
        resource: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// What an IAM user or role in the synced AWS inventory can do (asks the server; admins).
    WhatCan {
        /// The user or role ARN.
        #[arg(long)]
        principal: String,
        /// Only what concerns this action.
        #[arg(long)]
        action: Option<String>,
        /// With --action: decide this exact request.
        #[arg(long, requires = "action")]
        resource: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `latch server` flags (see also `latch.toml` and `LATCH_*`).
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Operator actions on the server's database; without one, serve.
    #[command(subcommand)]
    pub action: Option<ServerAction>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Directory of the embedded SQLite database [default: ./latch-data].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL instead of embedded SQLite.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// TOML configuration file.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// The URL people reach this server at, for links.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Slug of the org created on an empty database [default: default].
    #[arg(long)]
    pub init_org: Option<String>,
    /// Email of the first admin on an empty database.
    #[arg(long)]
    pub init_admin: Option<String>,
}

/// `latch server …` operator actions, run against the database directly.
#[derive(Debug, Subcommand)]
pub enum ServerAction {
    /// Create another org and its first admin; prints their enrollment link once.
    CreateOrg {
        /// The new org's slug.
        slug: String,
        /// Email of its first admin.
        #[arg(long)]
        admin: String,
    },
}

/// `latch admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// People in the org.
    Users {
        /// What to do with them.
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Groups in the org.
    Groups {
        /// What to do with them.
        #[command(subcommand)]
        command: GroupsCommand,
    },
    /// API tokens for automation.
    Tokens {
        /// What to do with them.
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// The org's access policy (TOML).
    Policy {
        /// What to do with it.
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Single sign-on with the org's OpenID Connect provider.
    Sso {
        /// What to do with it.
        #[command(subcommand)]
        command: SsoCommand,
    },
    /// The audit log.
    Audit {
        /// What to do with it.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Sync an AWS account's inventory now and follow it to the end.
    Sync {
        /// Account id or alias.
        #[arg(long)]
        account: String,
        /// Print the finished sync as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Connected AWS accounts.
    Aws {
        /// What to do with them.
        #[command(subcommand)]
        command: AwsAdminCommand,
    },
}

/// `latch admin aws …`.
#[derive(Debug, Subcommand)]
pub enum AwsAdminCommand {
    /// Connect an account: prints what to run in it (the integration role,
    /// its trust policy with the ExternalId, and exactly the permissions the
    /// chosen components need). Running it again keeps the ExternalId.
    Install {
        /// The 12-digit account id.
        #[arg(long)]
        account: String,
        /// A name to use instead of the id.
        #[arg(long)]
        alias: Option<String>,
        /// How people get access: iam-users, identity-center or federated.
        #[arg(long)]
        mode: String,
        /// iam-users: find IAM users by `email` (user name) or `tag:KEY`.
        #[arg(long, default_value = "email")]
        user_lookup: String,
        /// Resource inventory (fine-grained, resource-level requests).
        #[arg(long)]
        inventory: bool,
        /// This is an Organizations management account: reach its members.
        #[arg(long)]
        organizations: bool,
        /// Identity Center: the AWS access portal URL, when not the default
        /// `https://{identity store id}.awsapps.com/start`.
        #[arg(long)]
        sso_start_url: Option<String>,
        /// Federated mode: how AWS trusts Latch, `oidc` (web identity
        /// tokens, the default) or `saml` (SAML assertions).
        #[arg(long)]
        federation: Option<String>,
        /// What to print: cli, terraform or cloudformation.
        #[arg(long, default_value = "cli")]
        print: String,
    },
    /// Check the integration role: assumed with the ExternalId, refused
    /// without it, and every needed permission present.
    Verify {
        /// Account id or alias.
        #[arg(long)]
        account: String,
    },
    /// List connected accounts.
    Ls {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disconnect an account.
    Rm {
        /// Account id or alias.
        #[arg(long)]
        account: String,
    },
    /// IAM users of an iam-users account: create one tagged with a person's
    /// email, or delete one with everything attached to it.
    IamUser {
        /// What to do.
        #[command(subcommand)]
        command: IamUserCommand,
    },
}

/// `latch admin aws iam-user …`.
#[derive(Debug, Subcommand)]
pub enum IamUserCommand {
    /// Create an IAM user for a person, tagged with their email.
    Create {
        /// Account id or alias.
        #[arg(long)]
        account: String,
        /// The person's email.
        email: String,
        /// The IAM user name [default: the email].
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Delete an IAM user and everything attached to it (keys, login
    /// profile, certificates, SSH keys, MFA, policies, groups).
    Delete {
        /// Account id or alias.
        #[arg(long)]
        account: String,
        /// The IAM user name.
        name: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

/// `latch admin users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a person; prints their one-time enrollment link.
    Add {
        /// Their email.
        email: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Role: member, approver or admin.
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// List people.
    Ls {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a person and everything that lets them in.
    Rm {
        /// Email or user id.
        user: String,
    },
    /// Change a person's role.
    SetRole {
        /// Email or user id.
        user: String,
        /// member, approver or admin.
        role: String,
    },
}

/// `latch admin groups …`.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// Create a local group.
    Add {
        /// Its name.
        name: String,
    },
    /// List groups.
    Ls {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a group and its members.
    Show {
        /// Its name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a group.
    Rm {
        /// Its name.
        name: String,
    },
    /// Put a person in a local group.
    AddMember {
        /// Group name.
        group: String,
        /// Email or user id.
        user: String,
    },
    /// Take a person out of a local group.
    RmMember {
        /// Group name.
        group: String,
        /// Email or user id.
        user: String,
    },
}

/// `latch admin tokens …`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create an API token; the secret is printed once, on stdout.
    Create {
        /// A label.
        name: String,
        /// Scopes: read, request, approve, admin (repeatable) [default: read, request].
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime in days [default: 90].
        #[arg(long)]
        expires_in_days: Option<u64>,
    },
    /// List your tokens (`--all`: the whole org's, admins only).
    Ls {
        /// Every token in the org.
        #[arg(long)]
        all: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token.
    Revoke {
        /// Token id (`tok_…`).
        id: String,
    },
}

/// `latch admin policy …`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy file locally, without applying it.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
    /// Validate and apply a policy file as the org's new version.
    Apply {
        /// The TOML file.
        file: PathBuf,
    },
    /// Print the current policy.
    Show,
}

/// `latch admin sso …`.
#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Set the provider (the client secret is read from stdin).
    Set {
        /// The provider's issuer URL.
        #[arg(long)]
        issuer: String,
        /// Latch's client id at the provider.
        #[arg(long)]
        client_id: String,
        /// The claim listing a person's groups.
        #[arg(long, default_value = "groups")]
        groups_claim: String,
        /// Create people the provider vouches for on their first sign-in.
        #[arg(long)]
        auto_create: bool,
        /// Role of people created on sign-in.
        #[arg(long, default_value = "member")]
        default_role: String,
    },
    /// Show the settings and the redirect URI to register at the provider.
    Show,
    /// Turn single sign-on off.
    Rm,
}

/// `latch admin audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: finds any edited, inserted or deleted record.
    Verify,
    /// Write every record as JSON lines.
    Export {
        /// File to write (default: stdout).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}
