// Bad configuration is a bug in the deployment, not a user error: it stops start-up with a
// message that names the field, and never reaches a person at the login page.
export class ConfigError extends Error {
  override name = 'ConfigError';
}
