/** The customer portal: a tenant's webhook endpoints, their deliveries and attempts, in one small page. */
import { render } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import {
  ApiError,
  type Attempt,
  call,
  type Delivery,
  type Endpoint,
  type EventType,
  type FieldIssue,
  forgetToken,
  type Page,
  SessionExpiredError,
  takeToken,
} from "./api.ts";

type View =
  | { readonly name: "list" }
  | { readonly name: "new" }
  | { readonly name: "endpoint"; readonly id: string }
  | { readonly name: "edit"; readonly endpoint: Endpoint }
  | { readonly name: "delivery"; readonly id: string; readonly endpointId: string };

interface Shell {
  readonly go: (view: View) => void;
  readonly fail: (error: unknown) => string;
}

const formatTime = (iso: string) => new Date(iso).toLocaleString();

/** Moves keyboard focus to a view's heading when it appears, so screen readers announce the change. */
function useFocusHeading() {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

function ErrorNote({ message }: { readonly message: string | undefined }) {
  if (!message) return null;
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

function Loading({ what }: { readonly what: string }) {
  return (
    <p class="state" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** Loads with `load`, exposing the result, the error and a reload; a 401 goes to the shell. */
function useLoad<T>(load: () => Promise<T>, shell: Shell, deps: readonly unknown[]) {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const reload = useCallback(() => {
    setLoading(true);
    setError(undefined);
    load()
      .then((loaded) => setValue(loaded))
      .catch((failure: unknown) => setError(shell.fail(failure)))
      .finally(() => setLoading(false));
  }, deps);
  useEffect(reload, [reload]);
  return { value, error, loading, reload };
}

function SecretReveal({ secret, onDone }: { readonly secret: string; readonly onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      field.current?.select();
    }
  };
  return (
    <section class="secret" aria-labelledby="secret-heading">
      <h3 id="secret-heading">Signing secret</h3>
      <p>Copy it now: it is shown only this once. Verify each delivery's signature with it.</p>
      <div class="row">
        <label class="visually-hidden" for="secret-value">
          Signing secret
        </label>
        <input id="secret-value" ref={field} readOnly value={secret} class="mono" />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      <p role="status" aria-live="polite">
        {copied ? "Copied to the clipboard." : ""}
      </p>
      <button type="button" class="secondary" onClick={onDone}>
        I have stored it
      </button>
    </section>
  );
}

function EndpointList({ shell }: { readonly shell: Shell }) {
  const heading = useFocusHeading();
  const [pages, setPages] = useState<Endpoint[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const { value, error, loading } = useLoad(
    () => call<Page<Endpoint>>("GET", "/webhooks?limit=20"),
    shell,
    [],
  );
  useEffect(() => {
    if (value) {
      setPages(value.data);
      setCursor(value.nextCursor);
    }
  }, [value]);
  const more = async () => {
    if (!cursor) return;
    try {
      const next = await call<Page<Endpoint>>(
        "GET",
        `/webhooks?limit=20&cursor=${encodeURIComponent(cursor)}`,
      );
      setPages([...pages, ...next.data]);
      setCursor(next.nextCursor);
    } catch (failure) {
      shell.fail(failure);
    }
  };
  return (
    <section aria-labelledby="list-heading">
      <div class="title-row">
        <h2 id="list-heading" tabIndex={-1} ref={heading}>
          Endpoints
        </h2>
        <button type="button" onClick={() => shell.go({ name: "new" })}>
          Add endpoint
        </button>
      </div>
      {loading && pages.length === 0 ? <Loading what="endpoints" /> : null}
      <ErrorNote message={error} />
      {!loading && !error && pages.length === 0 ? (
        <p class="state empty">No endpoints yet. Add one to start receiving webhooks.</p>
      ) : null}
      {pages.length > 0 ? (
        <ul class="cards">
          {pages.map((endpoint) => (
            <li key={endpoint.id} class="card">
              <button
                type="button"
                class="link"
                onClick={() => {
                  shell.go({ name: "endpoint", id: endpoint.id });
                }}
              >
                <span class="mono url">{endpoint.url}</span>
              </button>
              <span class={endpoint.active ? "badge ok" : "badge off"}>
                {endpoint.active ? "active" : "disabled"}
              </span>
              {endpoint.description ? <p>{endpoint.description}</p> : null}
              <p class="muted">{endpoint.eventTypes.join(", ")}</p>
            </li>
          ))}
        </ul>
      ) : null}
      {cursor ? (
        <button type="button" class="secondary" onClick={more}>
          Load more endpoints
        </button>
      ) : null}
    </section>
  );
}

const issuesFor = (issues: readonly FieldIssue[], field: string) =>
  issues
    .filter((issue) => issue.field === field || issue.field.startsWith(`${field}.`))
    .map((issue) => issue.message)
    .join("; ");

function Field(props: {
  readonly id: string;
  readonly label: string;
  readonly hint?: string;
  readonly error: string;
  readonly children: preact.ComponentChildren;
}) {
  return (
    <div class={props.error ? "field invalid" : "field"}>
      <label for={props.id}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.children}
      {props.error ? (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

const parseHeaders = (text: string) =>
  Object.fromEntries(
    text
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "")
      .map((line) => {
        const at = line.indexOf(":");
        return at < 0 ? [line, ""] : [line.slice(0, at).trim(), line.slice(at + 1).trim()];
      }),
  );

/** The operator's event-type catalogue (live types only); empty when there is none or it cannot be read. */
function useCatalogue(): readonly EventType[] {
  const [types, setTypes] = useState<readonly EventType[]>([]);
  useEffect(() => {
    let current = true;
    call<Page<EventType>>("GET", "/event-types?limit=100")
      .then((page) => {
        if (current) setTypes(page.data.filter((type) => !type.archived));
      })
      // The picker is a help, not a requirement: without the catalogue the field still takes any type.
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, []);
  return types;
}

/** The catalogue beside the event-types field: each type's description and example, and a button to add it. */
function CataloguePicker({
  types,
  onAdd,
}: {
  readonly types: readonly EventType[];
  readonly onAdd: (name: string) => void;
}) {
  if (types.length === 0) return null;
  return (
    <details class="catalogue">
      <summary>Event types you can subscribe to ({types.length})</summary>
      <ul>
        {types.map((type) => (
          <li key={type.name}>
            <code>{type.name}</code>
            {type.deprecated ? <span class="badge">deprecated</span> : null} {type.description}{" "}
            <button type="button" class="link" onClick={() => onAdd(type.name)}>
              Add <span class="visually-hidden">{type.name}</span>
            </button>
            {type.example === null || type.example === undefined ? null : (
              <details>
                <summary>Example</summary>
                <pre>{JSON.stringify(type.example, null, 2)}</pre>
              </details>
            )}
          </li>
        ))}
      </ul>
    </details>
  );
}

/**
 * Create or edit. The event-types field suggests the operator's catalogue (a datalist), and the picker under it
 * shows each catalogued type's description and example.
 */
function EndpointForm({ shell, endpoint }: { readonly shell: Shell; readonly endpoint?: Endpoint }) {
  const heading = useFocusHeading();
  const [url, setUrl] = useState(endpoint?.url ?? "");
  const [description, setDescription] = useState(endpoint?.description ?? "");
  const [eventTypes, setEventTypes] = useState(endpoint?.eventTypes.join(", ") ?? "");
  const [headers, setHeaders] = useState(
    Object.entries(endpoint?.headers ?? {})
      .map(([name, value]) => `${name}: ${value}`)
      .join("\n"),
  );
  const [active, setActive] = useState(endpoint?.active ?? true);
  const [issues, setIssues] = useState<readonly FieldIssue[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const [secret, setSecret] = useState<{ value: string; id: string } | undefined>(undefined);
  const catalogue = useCatalogue();
  const addType = (name: string) =>
    setEventTypes((current) => {
      const listed = current.split(/[\s,]+/).filter((type) => type !== "");
      return listed.includes(name) ? current : [...listed, name].join(", ");
    });

  if (secret)
    return (
      <section aria-labelledby="created-heading">
        <h2 id="created-heading" tabIndex={-1} ref={heading}>
          Endpoint created
        </h2>
        <SecretReveal secret={secret.value} onDone={() => shell.go({ name: "endpoint", id: secret.id })} />
      </section>
    );

  const submit = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setIssues([]);
    setError(undefined);
    const body = {
      url: url.trim(),
      eventTypes: eventTypes
        .split(/[\s,]+/)
        .map((type) => type.trim())
        .filter((type) => type !== ""),
      headers: parseHeaders(headers),
      // Empty: none on create; on edit, null clears a description set before.
      ...(description.trim() !== ""
        ? { description: description.trim() }
        : endpoint?.description
          ? { description: null }
          : {}),
      ...(endpoint ? { active, version: endpoint.version } : {}),
    };
    try {
      if (endpoint) {
        await call<Endpoint>("PATCH", `/webhooks/${endpoint.id}`, body);
        shell.go({ name: "endpoint", id: endpoint.id });
      } else {
        const created = await call<Endpoint & { secret: string }>("POST", "/webhooks", body);
        setSecret({ value: created.secret, id: created.id });
      }
    } catch (failure) {
      const message = shell.fail(failure);
      if (failure instanceof ApiError && failure.issues.length > 0) {
        setIssues(failure.issues);
        setError("Please correct the fields marked above.");
      } else setError(message);
    } finally {
      setSaving(false);
    }
  };
  const described = (id: string, hint: boolean) =>
    [hint ? `${id}-hint` : "", issuesFor(issues, id.replace("f-", "")) ? `${id}-error` : ""]
      .filter((part) => part !== "")
      .join(" ") || undefined;
  const invalid = (field: string) => (issuesFor(issues, field) ? true : undefined);
  return (
    <section aria-labelledby="form-heading">
      <h2 id="form-heading" tabIndex={-1} ref={heading}>
        {endpoint ? "Edit endpoint" : "Add endpoint"}
      </h2>
      <form onSubmit={submit} noValidate>
        <Field
          id="f-url"
          label="URL"
          hint="Where deliveries are POSTed (https://…)."
          error={issuesFor(issues, "url")}
        >
          <input
            id="f-url"
            name="url"
            type="url"
            value={url}
            onInput={(event) => setUrl(event.currentTarget.value)}
            aria-invalid={invalid("url")}
            aria-describedby={described("f-url", true)}
            autoComplete="off"
          />
        </Field>
        <Field
          id="f-eventTypes"
          label="Event types"
          hint="Comma-separated, e.g. order.completed, order.* or * for every event."
          error={issuesFor(issues, "eventTypes")}
        >
          <input
            id="f-eventTypes"
            name="eventTypes"
            list="event-type-catalogue"
            value={eventTypes}
            onInput={(event) => setEventTypes(event.currentTarget.value)}
            aria-invalid={invalid("eventTypes")}
            aria-describedby={described("f-eventTypes", true)}
            autoComplete="off"
          />
          <datalist id="event-type-catalogue">
            {catalogue.map((type) => (
              <option key={type.name} value={type.name}>
                {type.description}
              </option>
            ))}
          </datalist>
          <CataloguePicker types={catalogue} onAdd={addType} />
        </Field>
        <Field id="f-description" label="Description (optional)" error={issuesFor(issues, "description")}>
          <input
            id="f-description"
            name="description"
            value={description}
            onInput={(event) => setDescription(event.currentTarget.value)}
            aria-invalid={invalid("description")}
            aria-describedby={described("f-description", false)}
          />
        </Field>
        <Field
          id="f-headers"
          label="Custom headers (optional)"
          hint="One per line: Name: value"
          error={issuesFor(issues, "headers")}
        >
          <textarea
            id="f-headers"
            name="headers"
            rows={3}
            value={headers}
            onInput={(event) => setHeaders(event.currentTarget.value)}
            aria-invalid={invalid("headers")}
            aria-describedby={described("f-headers", true)}
          />
        </Field>
        {endpoint ? (
          <div class="field check">
            <input
              id="f-active"
              type="checkbox"
              checked={active}
              onChange={(event) => setActive(event.currentTarget.checked)}
            />
            <label for="f-active">Active (receives deliveries)</label>
          </div>
        ) : null}
        <ErrorNote message={error} />
        <div class="row">
          <button type="submit" disabled={saving}>
            {saving ? "Saving…" : endpoint ? "Save changes" : "Create endpoint"}
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => shell.go(endpoint ? { name: "endpoint", id: endpoint.id } : { name: "list" })}
          >
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

function AttemptRows({
  attempts,
  onOpen,
}: {
  readonly attempts: readonly Attempt[];
  readonly onOpen?: (attempt: Attempt) => void;
}) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Delivery attempts, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">Code</th>
            <th scope="col">Duration</th>
            <th scope="col">Response</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((attempt) => (
            <tr key={`${attempt.deliveryId}-${attempt.attempt}-${attempt.timestamp}`}>
              <td>{formatTime(attempt.timestamp)}</td>
              <td>
                {onOpen ? (
                  <button
                    type="button"
                    class="link"
                    onClick={() => {
                      onOpen(attempt);
                    }}
                  >
                    {attempt.eventType}
                  </button>
                ) : (
                  attempt.eventType
                )}
                <span class="muted"> #{attempt.attempt}</span>
              </td>
              <td>
                <span class={attempt.status === "succeeded" ? "badge ok" : "badge bad"}>
                  {attempt.status}
                </span>
              </td>
              <td>{attempt.statusCode ?? attempt.errorClass ?? "—"}</td>
              <td>{attempt.durationMs} ms</td>
              <td>
                <code class="excerpt">{(attempt.responseBody ?? "").slice(0, 200) || "—"}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EndpointDetail({ shell, id }: { readonly shell: Shell; readonly id: string }) {
  const heading = useFocusHeading();
  const endpoint = useLoad(() => call<Endpoint>("GET", `/webhooks/${id}`), shell, [id]);
  const [status, setStatus] = useState("");
  const [attempts, setAttempts] = useState<Page<Attempt> | undefined>(undefined);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [attemptsError, setAttemptsError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [since, setSince] = useState("");
  const [busy, setBusy] = useState(false);

  const loadAttempts = useCallback(
    async (cursor: string | null) => {
      setAttemptsError(undefined);
      const query = new URLSearchParams({ limit: "10" });
      if (status) query.set("status", status);
      if (cursor) query.set("cursor", cursor);
      try {
        setAttempts(await call<Page<Attempt>>("GET", `/webhooks/${id}/attempts?${query}`));
      } catch (failure) {
        setAttemptsError(shell.fail(failure));
      }
    },
    [id, status, shell],
  );
  useEffect(() => {
    setCursors([null]);
    void loadAttempts(null);
  }, [loadAttempts]);

  const act = async (what: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    try {
      await what();
    } catch (failure) {
      setError(shell.fail(failure));
    } finally {
      setBusy(false);
    }
  };
  const sendTest = () =>
    act(async () => {
      await call("POST", `/webhooks/${id}/test`);
      setNotice("Test event sent. Its attempt appears below within a few seconds: refresh the attempts.");
      setTimeout(() => void loadAttempts(null), 1500);
    });
  const rotate = () =>
    act(async () => {
      const rotated = await call<{ secret: string }>("POST", `/webhooks/${id}/rotate-secret`, {});
      setSecret(rotated.secret);
      endpoint.reload();
    });
  const remove = () =>
    act(async () => {
      await call("DELETE", `/webhooks/${id}`);
      shell.go({ name: "list" });
    });
  const recover = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const at = new Date(since);
      if (Number.isNaN(at.getTime())) throw new ApiError(400, "Choose the time to recover failures since.");
      const result = await call<{ enqueued?: number; recovered?: number }>(
        "POST",
        `/webhooks/${id}/recover`,
        {
          since: at.toISOString(),
        },
      );
      setNotice(`Recovery started: ${JSON.stringify(result)}.`);
    });
  };

  if (endpoint.loading && !endpoint.value) return <Loading what="the endpoint" />;
  if (!endpoint.value)
    return (
      <section>
        <ErrorNote message={endpoint.error} />
        <button type="button" onClick={() => shell.go({ name: "list" })}>
          Back to endpoints
        </button>
      </section>
    );
  const webhook = endpoint.value;
  const page = cursors.length;
  return (
    <section aria-labelledby="detail-heading">
      <p>
        <button
          type="button"
          class="link"
          onClick={() => {
            shell.go({ name: "list" });
          }}
        >
          ← All endpoints
        </button>
      </p>
      <h2 id="detail-heading" tabIndex={-1} ref={heading} class="mono url">
        {webhook.url}
      </h2>
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <span class={webhook.active ? "badge ok" : "badge off"}>
            {webhook.active ? "active" : "disabled"}
          </span>
          {webhook.disabledReason ? ` (${webhook.disabledReason})` : ""}
        </dd>
        <dt>Description</dt>
        <dd>{webhook.description ?? "—"}</dd>
        <dt>Event types</dt>
        <dd>{webhook.eventTypes.join(", ")}</dd>
        <dt>Custom headers</dt>
        <dd>
          {Object.keys(webhook.headers).length === 0
            ? "—"
            : Object.entries(webhook.headers)
                .map(([name, value]) => `${name}: ${value}`)
                .join(", ")}
        </dd>
        <dt>Id</dt>
        <dd class="mono">{webhook.id}</dd>
        {webhook.previousSecretValidUntil ? (
          <>
            <dt>Previous secret valid until</dt>
            <dd>{formatTime(webhook.previousSecretValidUntil)}</dd>
          </>
        ) : null}
      </dl>
      <div class="row actions">
        <button type="button" onClick={sendTest} disabled={busy}>
          Send test event
        </button>
        <button type="button" class="secondary" onClick={() => shell.go({ name: "edit", endpoint: webhook })}>
          Edit
        </button>
        <button type="button" class="secondary" onClick={rotate} disabled={busy}>
          Rotate secret
        </button>
        {confirmDelete ? (
          <button type="button" class="danger" onClick={remove} disabled={busy}>
            Confirm delete
          </button>
        ) : (
          <button type="button" class="danger" onClick={() => setConfirmDelete(true)}>
            Delete
          </button>
        )}
      </div>
      <p role="status" aria-live="polite" class="notice">
        {notice ?? ""}
      </p>
      <ErrorNote message={error} />
      {secret ? <SecretReveal secret={secret} onDone={() => setSecret(undefined)} /> : null}

      <h3>Attempts</h3>
      <div class="row filters">
        <label for="attempt-status">Status</label>
        <select id="attempt-status" value={status} onChange={(event) => setStatus(event.currentTarget.value)}>
          <option value="">All</option>
          <option value="succeeded">Succeeded</option>
          <option value="failed">Failed</option>
        </select>
        <button type="button" class="secondary" onClick={() => void loadAttempts(cursors.at(-1) ?? null)}>
          Refresh attempts
        </button>
      </div>
      <ErrorNote message={attemptsError} />
      {!attempts && !attemptsError ? <Loading what="attempts" /> : null}
      {attempts && attempts.data.length === 0 ? (
        <p class="state empty">No attempts{status ? ` with status ${status}` : ""} yet.</p>
      ) : null}
      {attempts && attempts.data.length > 0 ? (
        <AttemptRows
          attempts={attempts.data}
          onOpen={(attempt) => shell.go({ name: "delivery", id: attempt.deliveryId, endpointId: id })}
        />
      ) : null}
      <nav class="row pager" aria-label="Attempt pages">
        <button
          type="button"
          class="secondary"
          disabled={page <= 1}
          onClick={() => {
            const previous = cursors.slice(0, -1);
            setCursors(previous);
            void loadAttempts(previous.at(-1) ?? null);
          }}
        >
          Newer
        </button>
        <span>Page {page}</span>
        <button
          type="button"
          class="secondary"
          disabled={!attempts?.nextCursor}
          onClick={() => {
            const next = attempts?.nextCursor ?? null;
            setCursors([...cursors, next]);
            void loadAttempts(next);
          }}
        >
          Older
        </button>
      </nav>

      <h3>Recover failed deliveries</h3>
      <form class="row" onSubmit={recover}>
        <label for="recover-since">Since</label>
        <input
          id="recover-since"
          type="datetime-local"
          value={since}
          onInput={(event) => setSince(event.currentTarget.value)}
        />
        <button type="submit" class="secondary" disabled={busy}>
          Recover
        </button>
      </form>
    </section>
  );
}

function DeliveryView({
  shell,
  id,
  endpointId,
}: {
  readonly shell: Shell;
  readonly id: string;
  readonly endpointId: string;
}) {
  const heading = useFocusHeading();
  const delivery = useLoad(() => call<Delivery>("GET", `/deliveries/${id}`), shell, [id]);
  const attempts = useLoad(() => call<Page<Attempt>>("GET", `/deliveries/${id}/attempts?limit=50`), shell, [
    id,
  ]);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const retry = async () => {
    setError(undefined);
    try {
      await call("POST", `/deliveries/${id}/retry`);
      setNotice("Retry queued. Refresh to see its attempt.");
      delivery.reload();
    } catch (failure) {
      setError(shell.fail(failure));
    }
  };
  return (
    <section aria-labelledby="delivery-heading">
      <p>
        <button
          type="button"
          class="link"
          onClick={() => {
            shell.go({ name: "endpoint", id: endpointId });
          }}
        >
          ← Back to the endpoint
        </button>
      </p>
      <h2 id="delivery-heading" tabIndex={-1} ref={heading}>
        Delivery
      </h2>
      {delivery.loading && !delivery.value ? <Loading what="the delivery" /> : null}
      <ErrorNote message={delivery.error} />
      {delivery.value ? (
        <dl class="facts">
          <dt>Event type</dt>
          <dd>{delivery.value.eventType}</dd>
          <dt>Status</dt>
          <dd>
            <span class={delivery.value.status === "delivered" ? "badge ok" : "badge bad"}>
              {delivery.value.status}
            </span>
            {delivery.value.reason ? ` (${delivery.value.reason})` : ""}
          </dd>
          <dt>Attempts</dt>
          <dd>{delivery.value.attempts}</dd>
          <dt>Last response</dt>
          <dd>{delivery.value.lastStatusCode ?? delivery.value.lastError ?? "—"}</dd>
          <dt>Event id</dt>
          <dd class="mono">{delivery.value.eventId}</dd>
        </dl>
      ) : null}
      <div class="row actions">
        <button type="button" onClick={retry}>
          Retry delivery
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            delivery.reload();
            attempts.reload();
          }}
        >
          Refresh
        </button>
      </div>
      <p role="status" aria-live="polite" class="notice">
        {notice ?? ""}
      </p>
      <ErrorNote message={error} />
      <h3>Attempts</h3>
      {attempts.loading && !attempts.value ? <Loading what="attempts" /> : null}
      <ErrorNote message={attempts.error} />
      {attempts.value && attempts.value.data.length === 0 ? (
        <p class="state empty">No attempts yet.</p>
      ) : null}
      {attempts.value && attempts.value.data.length > 0 ? (
        <AttemptRows attempts={attempts.value.data} />
      ) : null}
    </section>
  );
}

function SessionEnded({ reason }: { readonly reason: "expired" | "missing" }) {
  const heading = useFocusHeading();
  return (
    <section class="ended" aria-labelledby="ended-heading">
      <h2 id="ended-heading" tabIndex={-1} ref={heading}>
        {reason === "expired" ? "Your session has expired" : "No session"}
      </h2>
      <p>
        {reason === "expired"
          ? "This portal link is no longer valid: it expired or was revoked. Open the portal again from your account to get a new link."
          : "Open the portal from your account: the link you were given signs you in."}
      </p>
    </section>
  );
}

function App() {
  const [token] = useState(() => takeToken());
  const [view, setView] = useState<View>({ name: "list" });
  const [ended, setEnded] = useState<"expired" | "missing" | undefined>(token ? undefined : "missing");
  // Stable, so views can name it as a dependency without reloading on every render.
  const shell = useMemo<Shell>(
    () => ({
      go: setView,
      fail: (error) => {
        if (error instanceof SessionExpiredError) {
          forgetToken();
          setEnded("expired");
        }
        if (error instanceof ApiError && error.status === 403)
          return `Not allowed: ${error.message}. Ask for a link with this permission.`;
        return error instanceof Error ? error.message : "Something went wrong.";
      },
    }),
    [],
  );
  const body = (() => {
    if (ended) return <SessionEnded reason={ended} />;
    switch (view.name) {
      case "list":
        return <EndpointList shell={shell} />;
      case "new":
        return <EndpointForm shell={shell} />;
      case "edit":
        return <EndpointForm shell={shell} endpoint={view.endpoint} />;
      case "endpoint":
        return <EndpointDetail key={view.id} shell={shell} id={view.id} />;
      case "delivery":
        return <DeliveryView key={view.id} shell={shell} id={view.id} endpointId={view.endpointId} />;
    }
  })();
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <h1>Webhooks</h1>
      </header>
      <main id="main">{body}</main>
    </>
  );
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
