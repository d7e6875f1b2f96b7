//! What the customer runs to connect an account: the integration role with
//! its trust policy (Latch's principal + ExternalId) and exactly the
//! permissions the chosen components need, as AWS CLI commands, Terraform
//! or a CloudFormation template.

use serde_json::{json, Value};

use crate::catalog::{permissions_policy, trust_policy, Components, RoleContext};

/// The inline policy's name on the integration role.
pub const POLICY_NAME: &str = "LatchPermissions";

/// Everything the install documents say.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallPlan {
    /// The customer account.
    pub account_id: String,
    /// The integration role's name.
    pub role_name: String,
    /// The trust policy.
    pub trust: Value,
    /// The permissions policy.
    pub permissions: Value,
    /// Federated mode: Latch's OpenID Connect issuer, which the account
    /// registers as an IAM OIDC provider.
    pub federation: Option<Federation>,
}

/// What federated mode adds to an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Federation {
    /// The OpenID Connect issuer URL (`https://latch.example.com/oidc/acme`),
    /// or with SAML the IdP entity ID (`https://latch.example.com/saml/acme`).
    pub issuer: String,
    /// The IAM OIDC (or SAML) provider's ARN in the account.
    pub provider_arn: String,
    /// With SAML: the IAM SAML provider to create.
    pub saml: Option<SamlProvider>,
}

/// The IAM SAML provider a SAML-federated account makes for Latch.
#[derive(Debug, Clone, PartialEq)]
pub struct SamlProvider {
    /// Its name (`aws.saml_provider_name`).
    pub name: String,
    /// Latch's IdP metadata document it is made from.
    pub metadata: String,
}

/// The audience AWS requires of SAML assertions (`SAML:aud`).
pub const SAML_AUDIENCE: &str = "https://signin.aws.amazon.com/saml";

impl Federation {
    /// The issuer as IAM names it in condition keys (no scheme).
    pub fn host_path(&self) -> &str {
        self.issuer.split_once("://").map_or(self.issuer.as_str(), |(_, rest)| rest)
    }

    /// The trust policy a role people may request must have: tokens from
    /// Latch's issuer, for Latch's audience, minted for this very role; or
    /// with SAML, assertions from Latch's SAML provider for AWS (Latch puts
    /// only the granted role in an assertion's `Role` attribute).
    pub fn role_trust(&self, role_name: &str) -> Value {
        if self.saml.is_some() {
            return json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "LatchFederation",
                    "Effect": "Allow",
                    "Principal": {"Federated": self.provider_arn},
                    "Action": "sts:AssumeRoleWithSAML",
                    "Condition": {"StringEquals": {"SAML:aud": SAML_AUDIENCE}}
                }]
            });
        }
        let hp = self.host_path();
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "LatchFederation",
                "Effect": "Allow",
                "Principal": {"Federated": self.provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {format!("{hp}:aud"): AUDIENCE},
                    "StringLike": {format!("{hp}:sub"): format!("{role_name}/*")}
                }
            }]
        })
    }
}

/// The audience of Latch's web identity tokens (the provider's client id).
pub const AUDIENCE: &str = "sts.amazonaws.com";

impl InstallPlan {
    /// The plan for one account.
    pub fn new(components: &Components, ctx: &RoleContext<'_>, principal_arn: &str, external_id: &str) -> Self {
        Self {
            account_id: ctx.account_id.to_owned(),
            role_name: ctx.role_name.to_owned(),
            trust: trust_policy(principal_arn, external_id),
            permissions: permissions_policy(components, ctx),
            federation: None,
        }
    }

    /// The plan with Latch's issuer registered as the account's OIDC provider.
    pub fn with_federation(mut self, partition: &str, issuer: &str) -> Self {
        let host_path = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
        self.federation = Some(Federation { issuer: issuer.to_owned(), provider_arn: format!("arn:{partition}:iam::{}:oidc-provider/{host_path}", self.account_id), saml: None });
        self
    }

    /// The plan with Latch registered as the account's IAM SAML provider
    /// `name`, from Latch's `metadata` for IdP `entity_id`.
    pub fn with_saml(mut self, partition: &str, entity_id: &str, name: &str, metadata: &str) -> Self {
        let provider_arn = format!("arn:{partition}:iam::{}:saml-provider/{name}", self.account_id);
        self.federation = Some(Federation { issuer: entity_id.to_owned(), provider_arn, saml: Some(SamlProvider { name: name.to_owned(), metadata: metadata.to_owned() }) });
        self
    }
}

/// How to print the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// AWS CLI commands.
    Cli,
    /// A Terraform configuration.
    Terraform,
    /// A CloudFormation template (JSON).
    CloudFormation,
}

impl Format {
    /// Parses `cli`, `terraform` or `cloudformation`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "cli" => Some(Format::Cli),
            "terraform" => Some(Format::Terraform),
            "cloudformation" => Some(Format::CloudFormation),
            _ => None,
        }
    }
}

/// The plan as text in `format`.
pub fn render(plan: &InstallPlan, format: Format) -> String {
    match format {
        Format::Cli => cli(plan),
        Format::Terraform => terraform(plan),
        Format::CloudFormation => cloudformation(plan),
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn cli(plan: &InstallPlan) -> String {
    let trust = serde_json::to_string(&plan.trust).unwrap_or_default();
    let perms = serde_json::to_string(&plan.permissions).unwrap_or_default();
    let mut out = cli_role(plan, &trust, &perms);
    if let Some(f) = &plan.federation {
        let provider = match &f.saml {
            Some(saml) => format!("aws iam create-saml-provider --name {} --saml-metadata-document {}", shell_quote(&saml.name), shell_quote(&saml.metadata)),
            None => format!("aws iam create-open-id-connect-provider --url {} --client-id-list {AUDIENCE}", shell_quote(&f.issuer)),
        };
        out.push_str(&format!(
            "# Latch is the identity provider for the roles people request here:\n{provider}\n\
             # Each role people may request trusts it like this (ROLE is the role's name):\n#   {}\n",
            serde_json::to_string(&f.role_trust("ROLE")).unwrap_or_default()
        ));
    }
    out
}

fn cli_role(plan: &InstallPlan, trust: &str, perms: &str) -> String {
    format!(
        "# Connects AWS account {account} to Latch. Run with administrator credentials of that account.\n\
         aws iam create-role --role-name {role} --max-session-duration 3600 \\\n  --assume-role-policy-document {trust}\n\
         aws iam put-role-policy --role-name {role} --policy-name {POLICY_NAME} \\\n  --policy-document {perms}\n",
        account = plan.account_id,
        role = shell_quote(&plan.role_name),
        trust = shell_quote(trust),
        perms = shell_quote(perms),
    )
}

fn heredoc(v: &Value) -> String {
    // `${` would be a Terraform interpolation inside a heredoc.
    serde_json::to_string_pretty(v).unwrap_or_default().replace("${", "$${").replace("%{", "%%{")
}

fn terraform(plan: &InstallPlan) -> String {
    format!(
        "# Connects AWS account {account} to Latch.\n\
         resource \"aws_iam_role\" \"latch_integration\" {{\n  name                 = {role}\n  max_session_duration = 3600\n  assume_role_policy   = <<-LATCH\n{trust}\n  LATCH\n}}\n\n\
         resource \"aws_iam_role_policy\" \"latch_permissions\" {{\n  name   = \"{POLICY_NAME}\"\n  role   = aws_iam_role.latch_integration.id\n  policy = <<-LATCH\n{perms}\n  LATCH\n}}\n\n\
         output \"latch_integration_role_arn\" {{\n  value = aws_iam_role.latch_integration.arn\n}}\n{federation}",
        account = plan.account_id,
        role = serde_json::to_string(&plan.role_name).unwrap_or_default(),
        trust = heredoc(&plan.trust),
        perms = heredoc(&plan.permissions),
        federation = plan.federation.as_ref().map(|f| format!(
            "\n# Latch is the identity provider for the roles people request here.\n{}\
             # Each role people may request trusts it like this (ROLE is the role's name):\n{}\n",
            match &f.saml {
                Some(saml) => format!(
                    "resource \"aws_iam_saml_provider\" \"latch\" {{\n  name                   = {}\n  saml_metadata_document = <<-LATCH\n{}\n  LATCH\n}}\n",
                    serde_json::to_string(&saml.name).unwrap_or_default(),
                    saml.metadata.replace("${", "$${").replace("%{", "%%{")
                ),
                None => format!("resource \"aws_iam_openid_connect_provider\" \"latch\" {{\n  url            = {}\n  client_id_list = [\"{AUDIENCE}\"]\n}}\n", serde_json::to_string(&f.issuer).unwrap_or_default()),
            },
            heredoc(&f.role_trust("ROLE")).lines().map(|l| format!("#   {l}")).collect::<Vec<_>>().join("\n")
        )).unwrap_or_default(),
    )
}

fn cloudformation(plan: &InstallPlan) -> String {
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("Connects AWS account {} to Latch", plan.account_id),
        "Resources": {
            "LatchIntegration": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": plan.role_name,
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": plan.trust,
                    "Policies": [{"PolicyName": POLICY_NAME, "PolicyDocument": plan.permissions}]
                }
            }
        },
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["LatchIntegration", "Arn"]}}}
    });
    let mut template = template;
    if let (Some(f), Some(resources)) = (&plan.federation, template.get_mut("Resources").and_then(Value::as_object_mut)) {
        let provider = match &f.saml {
            Some(saml) => json!({"Type": "AWS::IAM::SAMLProvider", "Properties": {"Name": saml.name, "SamlMetadataDocument": saml.metadata}}),
            None => json!({"Type": "AWS::IAM::OIDCProvider", "Properties": {"Url": f.issuer, "ClientIdList": [AUDIENCE]}}),
        };
        resources.insert("LatchIdentityProvider".into(), provider);
    }
    let mut text = serde_json::to_string_pretty(&template).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use latch_core::integration::AwsMode;

    use super::*;

    fn plan() -> InstallPlan {
        let ctx = RoleContext { partition: "aws", account_id: "111111111111", role_name: "LatchIntegration", member_role_name: "OrganizationAccountAccessRole" };
        let c = Components { mode: AwsMode::IamUsers, inventory: false, organizations: false, federation: latch_core::integration::FederationProtocol::Oidc };
        InstallPlan::new(&c, &ctx, "arn:aws:iam::999999999999:role/latch", "ext-0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn a_saml_federation_registers_latchs_metadata_and_trusts_its_assertions() {
        let metadata = "<?xml version=\"1.0\"?>\n<md:EntityDescriptor entityID=\"https://latch.example.com/saml/acme\"></md:EntityDescriptor>";
        let p = plan().with_saml("aws", "https://latch.example.com/saml/acme", "Latch", metadata);
        let f = p.federation.clone().unwrap();
        assert_eq!(f.provider_arn, "arn:aws:iam::111111111111:saml-provider/Latch");
        let trust = f.role_trust("Deploy");
        assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRoleWithSAML");
        assert_eq!(trust["Statement"][0]["Principal"]["Federated"], f.provider_arn.as_str());
        assert_eq!(trust["Statement"][0]["Condition"]["StringEquals"]["SAML:aud"], SAML_AUDIENCE);
        let diags = latch_iam::validate_file(&trust.to_string(), latch_iam::PolicyType::Trust);
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        let cf: Value = serde_json::from_str(&render(&p, Format::CloudFormation)).unwrap();
        assert_eq!(cf["Resources"]["LatchIdentityProvider"], json!({"Type": "AWS::IAM::SAMLProvider", "Properties": {"Name": "Latch", "SamlMetadataDocument": metadata}}));
        let cli = render(&p, Format::Cli);
        assert!(cli.contains(&format!("aws iam create-saml-provider --name 'Latch' --saml-metadata-document '{metadata}'")), "{cli}");
        let tf = render(&p, Format::Terraform);
        assert!(tf.contains("resource \"aws_iam_saml_provider\" \"latch\"") && tf.contains(metadata), "{tf}");
    }

    #[test]
    fn every_format_carries_the_same_documents() {
        let p = plan();
        let cf: Value = serde_json::from_str(&render(&p, Format::CloudFormation)).unwrap();
        let role = &cf["Resources"]["LatchIntegration"]["Properties"];
        assert_eq!(role["AssumeRolePolicyDocument"], p.trust);
        assert_eq!(role["Policies"][0]["PolicyDocument"], p.permissions);

        let cli = render(&p, Format::Cli);
        let docs: Vec<Value> = cli.split('\'').filter_map(|chunk| serde_json::from_str(chunk).ok()).collect();
        assert_eq!(docs, vec![p.trust.clone(), p.permissions.clone()]);

        let tf = render(&p, Format::Terraform);
        let bodies: Vec<Value> = tf.split("LATCH\n").filter_map(|chunk| serde_json::from_str(chunk.trim_end().trim_end_matches("  ")).ok()).collect();
        assert_eq!(bodies, vec![p.trust, p.permissions]);
    }

    #[test]
    fn federated_accounts_register_latch_as_their_identity_provider() {
        let p = plan().with_federation("aws", "https://latch.example.com/oidc/acme");
        let f = p.federation.clone().unwrap();
        assert_eq!(f.provider_arn, "arn:aws:iam::111111111111:oidc-provider/latch.example.com/oidc/acme");
        let trust = f.role_trust("Deploy");
        assert_eq!(trust["Statement"][0]["Condition"]["StringLike"]["latch.example.com/oidc/acme:sub"], "Deploy/*");
        assert_eq!(trust["Statement"][0]["Condition"]["StringEquals"]["latch.example.com/oidc/acme:aud"], AUDIENCE);
        let cf: Value = serde_json::from_str(&render(&p, Format::CloudFormation)).unwrap();
        assert_eq!(cf["Resources"]["LatchIdentityProvider"]["Properties"]["Url"], "https://latch.example.com/oidc/acme");
        assert!(render(&p, Format::Cli).contains("aws iam create-open-id-connect-provider --url 'https://latch.example.com/oidc/acme' --client-id-list sts.amazonaws.com"));
        assert!(render(&p, Format::Terraform).contains("resource \"aws_iam_openid_connect_provider\" \"latch\""));
        let diags = latch_iam::validate_file(&trust.to_string(), latch_iam::PolicyType::Trust);
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
