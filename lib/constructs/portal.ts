/**
 * The customer portal: its signing key set (Secrets Manager), the portal API (one REST API resource per
 * `portalRoutes` entry, no IAM: the portal function verifies the bearer token itself, with throttling, request
 * models, access logs and tracing), a private bucket holding the page, and one CloudFront distribution serving
 * both on one origin — the page from the bucket through origin access control, `/api/*` from the portal API —
 * HTTPS only, with HSTS and the strict Content-Security-Policy as a response headers policy.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duration, type RemovalPolicy, Stack } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3deploy from "aws-cdk-lib/aws-s3-deployment";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { PORTAL_CONTENT_SECURITY_POLICY, portalRoutes } from "#core/http/portal-routes.ts";
import { writePortalPage } from "../../portal/build.ts";
import { hasSources, prebuiltPortalPageDir } from "./lambda-bundling.ts";
import { answerBadBodiesWithProblems, loggedStage } from "./management-api.ts";
import { requestModels } from "./request-models.ts";

/** The API stage the distribution's `/api/*` behaviour forwards to (`loggedStage`'s). */
const STAGE = "v1";

export interface PortalProps {
  readonly throttleRatePerSecond: number;
  readonly throttleBurst: number;
  readonly logRetentionDays: number;
  readonly removalPolicy: RemovalPolicy;
}

export class Portal extends Construct {
  readonly keySet: secretsmanager.Secret;
  readonly api: apigateway.RestApi;
  readonly accessLogs: logs.LogGroup;
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly url: string;
  readonly headers: cloudfront.ResponseHeadersPolicy;
  readonly deployment: s3deploy.BucketDeployment;

  constructor(scope: Construct, id: string, props: PortalProps) {
    super(scope, id);
    // `{"current": "k1", "k1": <64 random characters>}`; rotating adds a kid (docs/portal.md, "Rotating the key").
    this.keySet = new secretsmanager.Secret(this, "SigningKeys", {
      description: "Serverless Webhooks portal: HS256 signing keys of the customer portal's session tokens",
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ current: "k1" }),
        generateStringKey: "k1",
        passwordLength: 64,
        excludePunctuation: true,
      },
      removalPolicy: props.removalPolicy,
    });

    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.removalPolicy,
    });
    this.api = new apigateway.RestApi(this, "Api", {
      restApiName: `${Stack.of(this).stackName}-portal`,
      description: "Serverless Webhooks customer portal API (bearer tokens, verified by the portal function)",
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: loggedStage({
        throttleRatePerSecond: props.throttleRatePerSecond,
        throttleBurst: props.throttleBurst,
        accessLogs: this.accessLogs,
        callerIdentity: false,
      }),
    });
    this.api.node.tryRemoveChild("Endpoint");
    answerBadBodiesWithProblems(this.api);

    // Built from source in this repository; an installed package has it prebuilt.
    const bucketDir = hasSources("portal/page/main.tsx")
      ? writePortalPage(mkdtempSync(join(tmpdir(), "portal-page-")))
      : prebuiltPortalPageDir;
    this.bucket = new s3.Bucket(this, "Page", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: false,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: false,
    });

    this.headers = new cloudfront.ResponseHeadersPolicy(this, "SecurityHeaders", {
      comment: "Portal: HSTS, strict CSP (no inline script or style), no framing, no sniffing, no referrer",
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: PORTAL_CONTENT_SECURITY_POLICY, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    // Authorization can reach an origin only as part of the cache key; the function answers `no-store` and the
    // TTLs are (almost) zero, so nothing is cached — and never across tokens.
    const apiCache = new cloudfront.CachePolicy(this, "ApiCache", {
      comment: "Portal API: Authorization forwarded, nothing cached",
      defaultTtl: Duration.seconds(0),
      minTtl: Duration.seconds(0),
      maxTtl: Duration.seconds(1),
      headerBehavior: cloudfront.CacheHeaderBehavior.allowList("Authorization"),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.all(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
    });
    // The API by its id, not its deployment URL: the function's PORTAL_URL names this distribution, and the
    // deployment depends on the function's methods.
    const apiOrigin = new origins.HttpOrigin(
      `${this.api.restApiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`,
      { originPath: `/${STAGE}`, protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY },
    );
    this.distribution = new cloudfront.Distribution(this, "Distribution", {
      comment: "Serverless Webhooks customer portal",
      defaultRootObject: "index.html",
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        responseHeadersPolicy: this.headers,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      },
      additionalBehaviors: {
        "/api/*": {
          origin: apiOrigin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
          cachePolicy: apiCache,
          originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: this.headers,
        },
      },
    });
    this.url = `https://${this.distribution.distributionDomainName}/`;

    this.deployment = new s3deploy.BucketDeployment(this, "DeployPage", {
      sources: [s3deploy.Source.asset(bucketDir)],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ["/index.html", "/app.js", "/styles.css"],
      memoryLimit: 256,
      // Removing the stack removes the page too, so an unprotected stack can delete its (then empty) bucket.
      retainOnDelete: false,
    });
  }

  /** One method per portal route, each invoking `target` (no IAM: the function checks the bearer token). */
  addRoutes(target: lambda.IFunction): void {
    const integration = new apigateway.LambdaIntegration(target, { allowTestInvoke: false });
    const validator = this.api.addRequestValidator("BodyValidator", {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    for (const route of portalRoutes) {
      const schema = route.body ? requestModels[route.operatorRoute] : undefined;
      if (route.body && !schema) throw new Error(`no request model for ${route.operatorRoute}`);
      const model = schema
        ? this.api.addModel(`Model${`${route.method}${route.resource}`.replace(/[^A-Za-z0-9]/g, "")}`, {
            contentType: "application/json",
            schema,
          })
        : undefined;
      this.api.root.resourceForPath(route.resource).addMethod(route.method, integration, {
        authorizationType: apigateway.AuthorizationType.NONE,
        requestValidator: validator,
        ...(model ? { requestModels: { "application/json": model, $default: model } } : {}),
      });
    }
  }
}
