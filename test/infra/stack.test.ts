import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { CfnQueue } from "aws-cdk-lib/aws-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiRoutes } from "#core/http/api-routes.ts";
import { portalRoutes } from "#core/http/portal-routes.ts";
import { parseConfig } from "#core/shared/config.ts";
import {
  deadLetterQueue,
  deliverFunctionTimeoutSeconds,
  deliveryQueue,
  webhooksTable,
} from "#core/shared/resource-definitions.ts";
import { createApp } from "#lib/app.ts";
import { stackConfigFromContext, stackConfigSchema } from "#lib/stack-config.ts";
import { type Resource, removeSynthOutput, synthesize } from "#test/support/synth.ts";

let synthesized: ReturnType<typeof synthesize>;
let template: Template;
let resources: [string, Resource][];
const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type);

beforeAll(() => {
  synthesized = synthesize({}, { bundle: true });
  template = Template.fromStack(synthesized.stack);
  resources = Object.entries(template.toJSON().Resources as Record<string, Resource>);
});
afterAll(removeSynthOutput);

describe("cdk-nag", () => {
  it("finds nothing unacknowledged in the AwsSolutions, Serverless and project packs", () => {
    expect(synthesized.error).toBeUndefined();
    expect(
      synthesized.report?.pluginReports.filter((plugin) => plugin.conclusion !== "success") ?? [],
    ).toEqual([]);
  });

  it("really applies the packs, including the SQS visibility rule for event source mappings", () => {
    const broken = synthesize(
      {},
      {
        bundle: true,
        mutate: (stack) => {
          (stack.storage.deliveryQueue.node.defaultChild as CfnQueue).visibilityTimeout =
            deliverFunctionTimeoutSeconds;
        },
      },
    );
    expect(String(broken.error)).toMatch(/LambdaEventSourceSQSVisibilityTimeout/);
  });

  it("lists every acknowledgement, with its reason, in docs/deploy.md's table, and nothing no longer acknowledged", () => {
    const readme = readFileSync("docs/deploy.md", "utf8");
    const start = readme.indexOf("\n## cdk-nag acknowledgements\n");
    expect(start).toBeGreaterThan(-1);
    const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
    // | `Rule` (`qualifier`) | where | reason |, the header and separator rows left out.
    const rows = section
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) => {
        const [rule = "", where = "", reason = ""] = line
          .split("|")
          .slice(1, -1)
          .map((cell) => cell.trim());
        const [base = "", qualifier] = [...rule.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
        return { base, qualifier, where, reason };
      });
    // With alarmEmail the stack has one more (the e-mail subscription's); acknowledgements exist before synth.
    const withEmail = createApp({
      context: { stage: "test", alarmEmail: "oncall@example.com", "aws:cdk:bundling-stacks": [] },
    }).stack.webhooks.acknowledgements;
    const acknowledgements = [...synthesized.webhooks.acknowledgements, ...withEmail];
    expect(synthesized.webhooks.acknowledgements.length).toBeGreaterThan(5);
    const matches = (row: (typeof rows)[number], rule: string) =>
      rule.replace(/\[.*$/, "") === row.base &&
      (row.qualifier === undefined ||
        new RegExp(row.qualifier.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace("<prefix>", ".*")).test(
          rule,
        ));
    for (const acknowledgement of acknowledgements) {
      expect(acknowledgement.reason.length, acknowledgement.rule).toBeGreaterThan(40);
      const listed = rows.filter((row) => matches(row, acknowledgement.rule));
      expect(listed, acknowledgement.rule).toHaveLength(1);
      expect(listed[0]?.where.length, acknowledgement.rule).toBeGreaterThan(0);
      expect(listed[0]?.reason.length, acknowledgement.rule).toBeGreaterThan(40);
    }
    for (const row of rows)
      expect(
        acknowledgements.some((acknowledgement) => matches(row, acknowledgement.rule)),
        `${row.base} ${row.qualifier ?? ""}`,
      ).toBe(true);
  });
});

/** The methods of one of the two REST APIs, by the construct that holds it. */
const methodsOf = (api: "ManagementApi" | "CustomerPortal") =>
  ofType("AWS::ApiGateway::Method").filter(([, method]) =>
    JSON.stringify(method.Properties?.RestApiId).includes(`"${api}`),
  );

describe("the portal API", () => {
  it("has one method per portal route, no IAM (the function verifies the bearer token), all on the portal function", () => {
    const methods = methodsOf("CustomerPortal");
    expect(methods).toHaveLength(portalRoutes.length);
    for (const [, method] of methods) {
      expect(method.Properties?.AuthorizationType).toBe("NONE");
      expect(JSON.stringify(method.Properties?.Integration)).toContain("PortalFunction");
    }
    const withBody = methods.filter(([, method]) => method.Properties?.RequestModels);
    expect(withBody).toHaveLength(portalRoutes.filter((route) => route.body).length);
  });
});

describe("the management API", () => {
  it("puts AWS_IAM auth on every method", () => {
    const methods = methodsOf("ManagementApi");
    expect(methods).toHaveLength(apiRoutes.length);
    for (const [, method] of methods) expect(method.Properties?.AuthorizationType).toBe("AWS_IAM");
  });

  it("validates every body-bearing method against a model, for JSON and for any other content type", () => {
    const withBody = methodsOf("ManagementApi").filter(([, method]) =>
      apiRoutes.some(
        (route) =>
          route.body && route.method === method.Properties?.HttpMethod && method.Properties?.RequestModels,
      ),
    );
    expect(withBody).toHaveLength(apiRoutes.filter((route) => route.body).length);
    for (const [, method] of withBody) {
      expect(method.Properties?.RequestValidatorId).toBeDefined();
      expect(Object.keys(method.Properties?.RequestModels as object).sort()).toEqual([
        "$default",
        "application/json",
      ]);
    }
    template.hasResourceProperties("AWS::ApiGateway::RequestValidator", { ValidateRequestBody: true });
  });

  it("logs access and errors without request or response data, traces, and throttles", () => {
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      TracingEnabled: true,
      MethodSettings: [
        Match.objectLike({
          LoggingLevel: "ERROR",
          DataTraceEnabled: false,
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
        }),
      ],
    });
  });
});

/** The platform's functions, not CDK's bucket deployment handler (which copies the portal page at deploy). */
const platformFunctions = () =>
  ofType("AWS::Lambda::Function").filter(([id]) => !id.startsWith("CustomCDKBucketDeployment"));

describe("functions", () => {
  const functions = platformFunctions;

  it("run Node 24 on arm64 with tracing, explicit memory and timeout, source maps, and their own log group", () => {
    expect(
      functions()
        .map(([id]) => id.replace(/Function[0-9A-F]{8}$/, ""))
        .sort(),
    ).toEqual(["Api", "Deliver", "Portal", "Publish", "Reconcile"]);
    for (const [, fn] of functions()) {
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
        MemorySize: expect.any(Number),
        Timeout: expect.any(Number),
        Environment: {
          Variables: expect.objectContaining({
            NODE_OPTIONS: "--enable-source-maps",
            TABLE_NAME: expect.anything(),
            // Caller-supplied environment survives the construct's own variables and the use* helpers.
            POWERTOOLS_SERVICE_NAME: "serverless-webhooks",
            RETRY_SCHEDULE_SECONDS: "5,300,1800,7200,18000,36000,36000",
            MAX_WEBHOOKS_PER_TENANT: "50",
          }),
        },
      });
      expect(fn.Properties?.LoggingConfig).toMatchObject({ LogGroup: expect.anything() });
    }
  });

  it("export the handler their handler string names, from a bundle under 400 KiB (all five, reconcile included)", async () => {
    const assets = functions().map(([id, fn]) => {
      const key = String((fn.Properties?.Code as { S3Key?: string } | undefined)?.S3Key);
      return {
        name: id.replace(/Function[0-9A-F]{8}$/, ""),
        dir: join(synthesized.outdir, `asset.${key.replace(/\.zip$/, "")}`),
        handler: fn.Properties?.Handler as string,
      };
    });
    // Five distinct bundles: no function ships another's code.
    expect(assets.map((asset) => asset.name).sort()).toEqual([
      "Api",
      "Deliver",
      "Portal",
      "Publish",
      "Reconcile",
    ]);
    expect(new Set(assets.map((asset) => asset.dir)).size).toBe(5);
    const env = {
      AWS_REGION: "us-east-1",
      TABLE_NAME: "t",
      DELIVERY_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/q",
      DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/d",
      SECRET_NAME_PREFIX: "p/",
      PORTAL_KEY_SECRET_ID: "portal-keys",
      PORTAL_URL: "https://portal.example.com/",
    };
    Object.assign(process.env, env);
    const sizes: Record<string, number> = {};
    for (const { name, dir, handler } of assets) {
      const [file, exported] = handler.split(".") as [string, string];
      const bundle = join(dir, `${file}.mjs`);
      sizes[name] = statSync(bundle).size;
      // An ESM import of node:http reads all its exports, whose lazy WebSocket getters load undici: tens of
      // milliseconds of every cold start. Code that needs node:http loads it on first use instead.
      expect(readFileSync(bundle, "utf8"), name).not.toMatch(/from\s*"node:http"/);
      const module = (await import(bundle)) as Record<string, unknown>;
      expect(typeof module[exported], bundle).toBe("function");
    }
    expect(Object.keys(sizes).sort()).toEqual(["Api", "Deliver", "Portal", "Publish", "Reconcile"]);
    for (const [name, size] of Object.entries(sizes)) expect(size, name).toBeLessThan(400 * 1024);
  });

  it("ship the routing modules loaded on first use beside the handlers that fan out or manage routing, and they load", async () => {
    const dirs = Object.fromEntries(
      functions().map(([id, fn]) => {
        const key = String((fn.Properties?.Code as { S3Key?: string } | undefined)?.S3Key);
        return [
          id.replace(/Function[0-9A-F]{8}$/, ""),
          join(synthesized.outdir, `asset.${key.replace(/\.zip$/, "")}`),
        ];
      }),
    );
    const lazy = ["filter.mjs", "catalogue-tools.mjs"];
    for (const name of ["Api", "Publish", "Reconcile"]) {
      for (const file of lazy)
        expect(existsSync(join(dirs[name] as string, file)), `${name} ${file}`).toBe(true);
      // Not inlined into the handler either.
      expect(readFileSync(join(dirs[name] as string, "index.mjs"), "utf8")).not.toContain("strictSchema");
    }
    for (const file of lazy)
      expect(existsSync(join(dirs.Deliver as string, file)), `Deliver ${file}`).toBe(false);
    // The SQS queues load on first use in deliver, api and portal: the SQS client is not in their handlers, and
    // the module beside each loads and builds both queues.
    for (const name of ["Deliver", "Api", "Portal"]) {
      expect(readFileSync(join(dirs[name] as string, "index.mjs"), "utf8"), name).not.toContain("AmazonSQS");
      expect(existsSync(join(dirs[name] as string, "sqs-queues.mjs")), name).toBe(true);
    }
    const sqsQueues = (await import(
      join(dirs.Deliver as string, "sqs-queues.mjs")
    )) as typeof import("#aws/sqs-queues.ts");
    const queues = sqsQueues.createSqsQueues(
      parseConfig({
        AWS_REGION: "us-east-1",
        TABLE_NAME: "t",
        DELIVERY_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/q",
        DEAD_LETTER_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/1/d",
        SECRET_NAME_PREFIX: "p/",
      }),
      undefined,
      () => new Date(),
    );
    expect(typeof queues.queue.retryLater).toBe("function");
    expect(typeof queues.dlq.redrive).toBe("function");
    const filters = (await import(
      join(dirs.Publish as string, "filter.mjs")
    )) as typeof import("#core/routing/filter.ts");
    expect(filters.matchFilter({ data: { a: [{ prefix: "x" }] } }, { type: "t", data: { a: "xy" } })).toEqual(
      {
        matches: true,
      },
    );
    const tools = (await import(
      join(dirs.Api as string, "catalogue-tools.mjs")
    )) as typeof import("#core/routing/catalogue-tools.ts");
    expect(tools.schemaIssues({ type: "object", properties: { a: { type: "text" } } })[0]?.field).toBe(
      "schema.properties.a.type",
    );
  });

  it("feed deliveries through an event source mapping that reports batch item failures", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });

  it("take deliverBatchSize and its batching window into the event source mapping; above 10 without a window is refused", () => {
    const larger = synthesize({ deliverBatchSize: "50", batchingWindowSeconds: "2" });
    expect(larger.error).toBeUndefined();
    larger.template?.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 50,
      MaximumBatchingWindowInSeconds: 2,
    });
    const refused = stackConfigSchema.safeParse({ stage: "dev", deliverBatchSize: 11 });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(["deliverBatchSize"]);
    expect(refused.error?.issues[0]?.message).toContain("batchingWindowSeconds");
    expect(
      stackConfigSchema.safeParse({ stage: "dev", deliverBatchSize: 101, batchingWindowSeconds: 1 }).success,
    ).toBe(false);
    expect(
      stackConfigSchema.safeParse({ stage: "dev", deliverBatchSize: 100, batchingWindowSeconds: 1 }).success,
    ).toBe(true);
  });
});

describe("queues and table", () => {
  const queues = () => ofType("AWS::SQS::Queue");

  it("give the delivery queue ≥ 6× the deliver timeout, and a maxReceiveCount above the schedule", () => {
    const deliver = functions().find(([id]) => id.startsWith("Deliver"));
    const timeout = deliver?.[1].Properties?.Timeout as number;
    template.hasResourceProperties("AWS::SQS::Queue", {
      VisibilityTimeout: Match.anyValue(),
      RedrivePolicy: Match.objectLike({ maxReceiveCount: deliveryQueue.maxReceiveCount }),
    });
    const delivery = queues().find(([, queue]) => queue.Properties?.RedrivePolicy);
    expect(delivery?.[1].Properties?.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * timeout);
    expect(deliveryQueue.maxReceiveCount).toBeGreaterThan(8 + 1);
  });
  const functions = platformFunctions;

  it("keep DLQ messages longer than the delivery queue; encrypt and require TLS on every queue", () => {
    expect(deadLetterQueue.retentionPeriodSeconds).toBeGreaterThan(deliveryQueue.retentionPeriodSeconds);
    template.hasResourceProperties("AWS::SQS::Queue", {
      MessageRetentionPeriod: deadLetterQueue.retentionPeriodSeconds,
    });
    for (const [, queue] of queues()) expect(queue.Properties?.SqsManagedSseEnabled).toBe(true);
    const policies = ofType("AWS::SQS::QueuePolicy");
    expect(policies).toHaveLength(queues().length);
    for (const [, policy] of policies) {
      expect(JSON.stringify(policy.Properties?.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it("has exactly four indexes: gsi1 and gsi2 ALL, gsi3 KEYS_ONLY, gsi4 INCLUDE with the envelope's small fields", () => {
    const key = (name: string) => [
      { AttributeName: `${name}pk`, KeyType: "HASH" },
      { AttributeName: `${name}sk`, KeyType: "RANGE" },
    ];
    const tables = ofType("AWS::DynamoDB::GlobalTable");
    expect(tables).toHaveLength(1);
    const { GlobalSecondaryIndexes, AttributeDefinitions } = tables[0]?.[1].Properties ?? {};
    // Exactly, not a partial match: an attribute added to a projection, or any other index change, fails here.
    expect({ GlobalSecondaryIndexes, AttributeDefinitions }).toEqual({
      GlobalSecondaryIndexes: [
        { IndexName: "gsi1", KeySchema: key("gsi1"), Projection: { ProjectionType: "ALL" } },
        { IndexName: "gsi2", KeySchema: key("gsi2"), Projection: { ProjectionType: "ALL" } },
        // The reconciler reads only the keys of due work, then the items themselves.
        { IndexName: "gsi3", KeySchema: key("gsi3"), Projection: { ProjectionType: "KEYS_ONLY" } },
        // A tenant's event listing: never the body (up to 256 KiB), which an ALL projection would write twice.
        {
          IndexName: "gsi4",
          KeySchema: key("gsi4"),
          Projection: {
            ProjectionType: "INCLUDE",
            NonKeyAttributes: ["id", "tenantId", "type", "timestamp", "source", "createdAt"],
          },
        },
      ],
      AttributeDefinitions: [
        "pk",
        "sk",
        "gsi1pk",
        "gsi1sk",
        "gsi2pk",
        "gsi2sk",
        "gsi3pk",
        "gsi3sk",
        "gsi4pk",
        "gsi4sk",
      ].map((name) => ({ AttributeName: name, AttributeType: "S" })),
    });
  });

  it("builds the table from the shared definition, with PITR and TTL", () => {
    template.hasResourceProperties("AWS::DynamoDB::GlobalTable", {
      KeySchema: [
        { AttributeName: webhooksTable.partitionKey.name, KeyType: "HASH" },
        { AttributeName: webhooksTable.sortKey.name, KeyType: "RANGE" },
      ],
      TimeToLiveSpecification: { AttributeName: webhooksTable.timeToLiveAttribute, Enabled: true },
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      ],
    });
  });
});

describe("EventBridge ingest (the rule itself: test/infra/operable.test.ts)", () => {
  it("buffers events in an encrypted, TLS-only ingest queue whose visibility is 6× publish's timeout, redriven after 5 receives", () => {
    const publish = ofType("AWS::Lambda::Function").find(([id]) => id.startsWith("PublishFunction"));
    const timeout = Number(publish?.[1].Properties?.Timeout);
    expect(timeout).toBe(30);
    template.hasResourceProperties("AWS::SQS::Queue", {
      VisibilityTimeout: 6 * timeout,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
    const [ingestQueue] = ofType("AWS::SQS::Queue").filter(([id]) => id.startsWith("IngestQueue"));
    const policies = ofType("AWS::SQS::QueuePolicy").filter(([, policy]) =>
      JSON.stringify(policy.Properties?.Queues).includes(String(ingestQueue?.[0])),
    );
    expect(JSON.stringify(policies)).toContain('"aws:SecureTransport":"false"');
  });

  it("feeds publish through an event source mapping: batches of 10, partial batch failures, the ingest props", () => {
    const mappingOn = (synth: Template) =>
      Object.values(synth.findResources("AWS::Lambda::EventSourceMapping")).find((mapping) =>
        JSON.stringify(mapping.Properties.EventSourceArn).includes("IngestQueue"),
      )?.Properties as Record<string, unknown> | undefined;
    expect(mappingOn(template)).toMatchObject({
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 50 },
    });
    expect(mappingOn(template)?.MaximumBatchingWindowInSeconds).toBeUndefined();
    const tuned = synthesize({ ingestBatchingWindowSeconds: "2", ingestMaxConcurrency: "5" }).template;
    if (!tuned) throw new Error("the tuned stack did not synthesize");
    expect(mappingOn(tuned)).toMatchObject({
      MaximumBatchingWindowInSeconds: 2,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it("never invokes publish asynchronously: no async invoke configuration, no invoke permission for EventBridge", () => {
    expect(ofType("AWS::Lambda::EventInvokeConfig")).toEqual([]);
    const permissions = ofType("AWS::Lambda::Permission").filter(
      ([, permission]) => permission.Properties?.Principal === "events.amazonaws.com",
    );
    for (const [, permission] of permissions)
      expect(JSON.stringify(permission.Properties?.FunctionName)).not.toContain("Publish");
  });
});

describe("least privilege", () => {
  it("uses `*` as a resource only for X-Ray, and scopes Secrets Manager to the stack's prefix or the portal key", () => {
    type Statement = { Action: string | string[]; Resource: unknown };
    // CDK's bucket deployment handler (it invalidates the portal's distribution paths) is CDK's, acknowledged.
    const statements = ofType("AWS::IAM::Policy")
      .filter(([id]) => !id.startsWith("CustomCDKBucketDeployment"))
      .flatMap(
        ([, policy]) =>
          (policy.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? [],
      );
    for (const statement of statements.filter((candidate) => candidate.Resource === "*")) {
      for (const action of [statement.Action].flat()) expect(action).toMatch(/^xray:/);
    }
    const secretStatements = statements.filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith("secretsmanager:")),
    );
    expect(secretStatements.length).toBeGreaterThanOrEqual(2);
    for (const statement of secretStatements) {
      const resource = JSON.stringify(statement.Resource);
      if (resource.includes("CustomerPortalSigningKeys"))
        expect([statement.Action].flat()).toEqual(["secretsmanager:GetSecretValue"]);
      else expect(resource).toContain(":secret:serverless-webhooks/ServerlessWebhooks-test/*");
    }
  });

  it("gives no resource a physical name, so two stages share an account", () => {
    const nameKeys = [
      "TableName",
      "QueueName",
      "FunctionName",
      "RoleName",
      "TopicName",
      "LogGroupName",
      "DashboardName",
      "AlarmName",
      "RuleName",
    ];
    // A literal string is a physical name; a Ref/GetAtt only points at another resource.
    const named = resources.filter(([, resource]) =>
      nameKeys.some((key) => typeof resource.Properties?.[key] === "string"),
    );
    expect(named.map(([id]) => id)).toEqual([]);
  });
});

describe("operations", () => {
  it("has twelve alarms (each one's metric and threshold: test/infra/operable.test.ts) and a dashboard", () => {
    expect(ofType("AWS::CloudWatch::Alarm")).toHaveLength(12);
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    template.resourceCountIs("AWS::SNS::Topic", 0);
  });

  it("sends alarms to an SNS topic (TLS-only) when an email is configured", () => {
    const withEmail = Template.fromStack(
      synthesize({ alarmEmail: "oncall@example.com" }, { bundle: true }).stack,
    );
    withEmail.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "oncall@example.com",
    });
    withEmail.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmActions: [Match.anyValue()] });
    withEmail.resourceCountIs("AWS::SNS::TopicPolicy", 1);
  });
});

describe("props", () => {
  it("refuse private destinations in a stage named like production, naming the prop", () => {
    expect(() => createApp({ context: { stage: "prod-eu", allowPrivateDestinations: "true" } })).toThrow(
      /allowPrivateDestinations.*production/,
    );
    expect(() => createApp({ context: { stage: "Bad Stage" } })).toThrow(/stage/);
    expect(() => createApp({ context: { stage: "dev", logRetentionDays: "31" } })).toThrow(
      /logRetentionDays/,
    );
    expect(() => createApp({ context: { stage: "dev", retryScheduleSeconds: "[1, 99999]" } })).toThrow(
      /retryScheduleSeconds/,
    );
  });

  it("are all in docs/deploy.md's props table, and the table names no prop that does not exist", () => {
    const readme = readFileSync("docs/deploy.md", "utf8");
    const start = readme.indexOf("\n| key ");
    expect(start).toBeGreaterThan(-1);
    const table = readme.slice(start + 1, readme.indexOf("\n\n", start));
    const documented = table
      .split("\n")
      .slice(2)
      .flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`(\w+)`/g)].map((match) => match[1]));
    expect(documented.sort()).toEqual(Object.keys(stackConfigSchema.shape).sort());
  });

  it("validate the tenant props, naming the key: maxWebhooksPerTenant, tenantIdPath, defaultTenantId", () => {
    const app = (context: Record<string, unknown>) => () =>
      createApp({ context: { stage: "dev", ...context } });
    // As `-c key=value` gives them (strings), and as cdk.json may hold them.
    for (const bad of ["0", "10001", "1.5", "-1", "fifty", 0])
      expect(app({ maxWebhooksPerTenant: bad }), String(bad)).toThrow(
        /invalid stack configuration: maxWebhooksPerTenant: /,
      );
    for (const bad of [
      "tenantId",
      "detail",
      "detail.",
      "details.tenantId",
      "$.detail.tenantId",
      "detail.tenant id",
    ])
      expect(app({ tenantIdPath: bad }), bad).toThrow(
        /invalid stack configuration: tenantIdPath: .*under detail/,
      );
    for (const bad of ["", "acme corp", "acme/eu", "a".repeat(65), "tenant:1"])
      expect(app({ defaultTenantId: bad }), bad).toThrow(
        /invalid stack configuration: defaultTenantId: a tenant id/,
      );

    const read = (context: Record<string, unknown>) =>
      stackConfigFromContext((key) => ({ stage: "dev", ...context })[key]);
    expect(read({})).toMatchObject({ maxWebhooksPerTenant: 50, tenantIdPath: "detail.tenantId" });
    expect(read({}).defaultTenantId).toBeUndefined();
    expect(read({ maxWebhooksPerTenant: "1" }).maxWebhooksPerTenant).toBe(1);
    expect(read({ maxWebhooksPerTenant: 10_000 }).maxWebhooksPerTenant).toBe(10_000);
    expect(read({ tenantIdPath: "detail.customer.id", defaultTenantId: "acme_EU-1.x" })).toMatchObject({
      tenantIdPath: "detail.customer.id",
      defaultTenantId: "acme_EU-1.x",
    });
  });
});
