/**
 * The REST API: one resource/method per entry of `apiRoutes`, IAM auth on every method, a request validator
 * and a model on every body-bearing method (for JSON and for any other content type), access and execution
 * logging (never request or response data, which can hold a secret), tracing and throttling.
 */
import { RemovalPolicy, Stack } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { apiRoutes, type RouteTarget } from "#core/http/api-routes.ts";
import { BAD_REQUEST_BODY_TEMPLATE } from "#core/http/request-models.ts";
import { requestModels } from "./request-models.ts";

export interface ManagementApiProps {
  readonly targets: Readonly<Record<RouteTarget, lambda.IFunction>>;
  readonly throttleRatePerSecond: number;
  readonly throttleBurst: number;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The stage both REST APIs use: `v1`, tracing, metrics, error-level execution logs without request or response
 * data, throttling, and JSON access logs (with the SigV4 caller on the management API; the portal's callers are
 * bearer tokens, never logged).
 */
export function loggedStage(options: {
  readonly throttleRatePerSecond: number;
  readonly throttleBurst: number;
  readonly accessLogs: logs.ILogGroup;
  readonly callerIdentity: boolean;
}): apigateway.StageOptions {
  return {
    stageName: "v1",
    tracingEnabled: true,
    metricsEnabled: true,
    loggingLevel: apigateway.MethodLoggingLevel.ERROR,
    dataTraceEnabled: false,
    throttlingRateLimit: options.throttleRatePerSecond,
    throttlingBurstLimit: options.throttleBurst,
    accessLogDestination: new apigateway.LogGroupLogDestination(options.accessLogs),
    accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields({
      caller: options.callerIdentity,
      httpMethod: true,
      ip: true,
      protocol: true,
      requestTime: true,
      resourcePath: true,
      responseLength: true,
      status: true,
      user: options.callerIdentity,
    }),
  };
}

/** A body the model refuses gets a problem document naming `body`, like every other 4xx, not {"message": …}. */
export function answerBadBodiesWithProblems(api: apigateway.RestApi): void {
  api.addGatewayResponse("BadRequestBody", {
    type: apigateway.ResponseType.BAD_REQUEST_BODY,
    statusCode: "400",
    responseHeaders: { "Content-Type": "'application/problem+json'" },
    templates: { "application/json": BAD_REQUEST_BODY_TEMPLATE },
  });
}

export class ManagementApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ManagementApiProps) {
    super(scope, id);
    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    this.api = new apigateway.RestApi(this, "Api", {
      // Not a physical id (API Gateway keys APIs by generated id), but the ApiName dimension of its CloudWatch
      // metrics: unique per stack, so two stages' 5xx alarms never read each other's API.
      restApiName: Stack.of(this).stackName,
      description: "Serverless Webhooks management API (IAM auth)",
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: true,
      // Account-wide: every REST API in this account and region logs through this role. Deleting it with the
      // stack would break other APIs' logging, so it stays (docs/deploy.md, "Teardown").
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: loggedStage({
        throttleRatePerSecond: props.throttleRatePerSecond,
        throttleBurst: props.throttleBurst,
        accessLogs: this.accessLogs,
        callerIdentity: true,
      }),
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
    });

    // The stack's own ApiUrl output replaces API Gateway's default one, which ends in "/" ("$API/webhooks" → "//").
    this.api.node.tryRemoveChild("Endpoint");

    answerBadBodiesWithProblems(this.api);

    const validator = this.api.addRequestValidator("BodyValidator", {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const integrations = {
      api: new apigateway.LambdaIntegration(props.targets.api, { allowTestInvoke: false }),
      publish: new apigateway.LambdaIntegration(props.targets.publish, { allowTestInvoke: false }),
      portal: new apigateway.LambdaIntegration(props.targets.portal, { allowTestInvoke: false }),
    };

    for (const route of apiRoutes) {
      const resource = this.api.root.resourceForPath(route.resource);
      const key = `${route.method} ${route.resource}`;
      const schema = requestModels[key];
      if (route.body && !schema) throw new Error(`no request model for ${key}`);
      const model = schema
        ? this.api.addModel(`Model${key.replace(/[^A-Za-z0-9]/g, "")}`, {
            contentType: "application/json",
            schema,
          })
        : undefined;
      resource.addMethod(route.method, integrations[route.target], {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: validator,
        ...(model ? { requestModels: { "application/json": model, $default: model } } : {}),
        ...(route.resource.includes("{id}") ? { requestParameters: { "method.request.path.id": true } } : {}),
      });
    }
  }
}
