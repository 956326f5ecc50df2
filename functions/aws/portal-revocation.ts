/**
 * A tenant's portal revocation mark (`portalTokensNotBefore` on `TENANT#<id> / META`): only the portal function
 * writes it, so it lives here rather than on the tenant repository every function bundles.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { NotFoundError } from "#core/shared/errors.ts";
import type { Tenant } from "#core/tenants/tenants.ts";
import { keys } from "./table-keys.ts";

/** Sets the mark; a NotFoundError when the tenant is absent or being deleted. The mark never moves back. */
export async function revokePortalTokens(
  documents: DynamoDBDocumentClient,
  table: string,
  tenants: { get(id: string): Promise<Tenant | undefined> },
  id: string,
  notBefore: number,
  now: string,
): Promise<void> {
  try {
    await documents.send(
      new UpdateCommand({
        TableName: table,
        Key: keys.tenant(id),
        UpdateExpression: "SET portalTokensNotBefore = :mark, updatedAt = :now",
        ConditionExpression:
          "attribute_exists(pk) AND attribute_not_exists(deleting) AND (attribute_not_exists(portalTokensNotBefore) OR portalTokensNotBefore <= :mark)",
        ExpressionAttributeValues: { ":mark": notBefore, ":now": now },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const tenant = await tenants.get(id);
    if (!tenant || tenant.deleting) throw new NotFoundError(`tenant ${id}`);
  }
}
