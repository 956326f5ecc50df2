/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles only (an esbuild alias set by the house
 * function construct). Lambda always puts the execution role's credentials in the environment, so the default
 * chain's SSO, STS, ini, process and IMDS providers (~140 KB of the bundle) can never be used there.
 * Local mode and tests run the sources, with the SDK's real default chain.
 */
import { fromEnv } from "@aws-sdk/credential-provider-env";

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
