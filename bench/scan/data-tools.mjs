// Project-written benign tool definitions for the scanner evaluation: realistic descriptions of
// typical tools (databases, git, calendars, email, search, cloud operations, chat, payments...),
// written for Portcullis, not taken from any server. They complement the real tools/list output of
// the MCP reference servers, and deliberately include phrasing a naive scanner trips on: "use this
// tool when...", "before calling this tool, call X", ".env", "password", "send", URLs, "do not use
// this tool for...".

function schema(props, required = []) {
  const properties = {};
  for (const [name, spec] of Object.entries(props)) {
    const [type, description, extra = {}] = spec;
    properties[name] = { type, ...(description ? { description } : {}), ...extra };
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

function tool(name, description, props = {}, required = [], annotations) {
  return { name, description, inputSchema: schema(props, required), ...(annotations ? { annotations } : {}) };
}

const RO = { readOnlyHint: true, openWorldHint: false };
const DESTRUCTIVE = { readOnlyHint: false, destructiveHint: true };

/** Servers with their tools. */
export const PROJECT_SERVERS = {
  postgres: [
    tool(
      'list_tables',
      'List the tables in the connected PostgreSQL database, with their schema and approximate row counts.',
      { schema: ['string', "Schema to list (default 'public')"] },
      [],
      RO
    ),
    tool(
      'describe_table',
      'Show the columns of a table: name, type, nullability, default and whether the column is part of the primary key.',
      { table: ['string', 'Table name, optionally schema-qualified (e.g. sales.orders)'] },
      ['table'],
      RO
    ),
    tool(
      'run_query',
      'Run a read-only SQL query and return up to 500 rows as JSON. Before calling this tool, call `describe_table` to check column names. Queries that modify data are rejected; use execute_statement for writes.',
      {
        sql: ['string', 'A single SELECT statement. Use $1, $2... placeholders for values.'],
        params: ['array', 'Values for the placeholders, in order', { items: {} }],
        timeout_ms: ['integer', 'Statement timeout in milliseconds (default 15000)']
      },
      ['sql'],
      RO
    ),
    tool(
      'execute_statement',
      'Execute an INSERT, UPDATE or DELETE statement inside a transaction and return the number of affected rows. Always use placeholders instead of string concatenation.',
      {
        sql: ['string', 'The statement to execute'],
        params: ['array', 'Placeholder values', { items: {} }],
        dry_run: ['boolean', 'Roll back instead of committing, to preview the row count']
      },
      ['sql'],
      DESTRUCTIVE
    ),
    tool(
      'explain_query',
      'Return the query plan for a SELECT statement (EXPLAIN, optionally with ANALYZE). Useful when a query is slow.',
      {
        sql: ['string', 'The query to explain'],
        analyze: ['boolean', 'Run the query to collect actual timings']
      },
      ['sql'],
      RO
    )
  ],
  git: [
    tool(
      'git_status',
      'Show the working tree status: staged, unstaged and untracked files.',
      { repo_path: ['string', 'Path to the repository'] },
      ['repo_path'],
      RO
    ),
    tool(
      'git_log',
      'Show the commit history of the current branch, newest first, with author, date and message.',
      {
        repo_path: ['string', 'Path to the repository'],
        max_count: ['integer', 'Maximum number of commits to return (default 20)'],
        path: ['string', 'Only commits that touch this file or directory']
      },
      ['repo_path'],
      RO
    ),
    tool(
      'git_diff',
      'Show changes between the working tree and the index, or between two commits. Output is a unified diff.',
      {
        repo_path: ['string', 'Path to the repository'],
        target: ['string', 'Commit, branch or tag to compare against (default: the index)'],
        context_lines: ['integer', 'Lines of context around each change']
      },
      ['repo_path'],
      RO
    ),
    tool(
      'git_commit',
      'Record the staged changes as a new commit. The message should summarise what changed and why.',
      { repo_path: ['string', 'Path to the repository'], message: ['string', 'Commit message'] },
      ['repo_path', 'message']
    ),
    tool(
      'git_create_branch',
      'Create a new branch from the given start point and optionally switch to it.',
      {
        repo_path: ['string', 'Path to the repository'],
        branch_name: ['string', 'Name of the new branch'],
        start_point: ['string', 'Commit or branch to start from (default HEAD)'],
        checkout: ['boolean', 'Switch to the new branch']
      },
      ['repo_path', 'branch_name']
    ),
    tool(
      'git_show',
      'Show the contents of a commit: metadata and the full diff.',
      { repo_path: ['string', 'Path to the repository'], revision: ['string', 'Commit sha, branch or tag'] },
      ['repo_path', 'revision'],
      RO
    )
  ],
  github: [
    tool(
      'create_issue',
      'Open a new issue in a GitHub repository. Use labels that already exist in the repository; unknown labels are ignored.',
      {
        owner: ['string', 'Repository owner (user or organisation)'],
        repo: ['string', 'Repository name'],
        title: ['string', 'Issue title'],
        body: ['string', 'Issue body in GitHub-flavoured Markdown'],
        labels: ['array', 'Label names', { items: { type: 'string' } }]
      },
      ['owner', 'repo', 'title']
    ),
    tool(
      'list_pull_requests',
      'List pull requests in a repository, filtered by state and base branch.',
      {
        owner: ['string', 'Repository owner'],
        repo: ['string', 'Repository name'],
        state: ['string', 'open, closed or all', { enum: ['open', 'closed', 'all'] }],
        base: ['string', 'Only pull requests targeting this branch']
      },
      ['owner', 'repo'],
      RO
    ),
    tool(
      'get_file_contents',
      'Get the contents of a file or directory from a GitHub repository at a given ref.',
      {
        owner: ['string', 'Repository owner'],
        repo: ['string', 'Repository name'],
        path: ['string', 'Path inside the repository'],
        ref: ['string', 'Branch, tag or commit sha (default: the default branch)']
      },
      ['owner', 'repo', 'path'],
      RO
    ),
    tool(
      'create_pull_request',
      'Open a pull request from a head branch into a base branch. Set draft to true for work in progress.',
      {
        owner: ['string', 'Repository owner'],
        repo: ['string', 'Repository name'],
        title: ['string', 'Pull request title'],
        head: ['string', 'The branch with the changes'],
        base: ['string', 'The branch to merge into'],
        body: ['string', 'Description'],
        draft: ['boolean', 'Open as a draft']
      },
      ['owner', 'repo', 'title', 'head', 'base']
    ),
    tool(
      'search_code',
      'Search code across GitHub repositories using the code search syntax (e.g. "repo:org/name language:go Retry").',
      { q: ['string', 'Search query'], per_page: ['integer', 'Results per page (max 100)'] },
      ['q'],
      RO
    )
  ],
  calendar: [
    tool(
      'list_events',
      "List events on the user's calendar between two dates. Times are returned in the calendar's time zone.",
      {
        calendar_id: ['string', "Calendar id; 'primary' for the user's main calendar"],
        time_min: ['string', 'Start of the range (RFC 3339)', { format: 'date-time' }],
        time_max: ['string', 'End of the range (RFC 3339)', { format: 'date-time' }]
      },
      ['time_min', 'time_max'],
      RO
    ),
    tool(
      'create_event',
      'Create a calendar event and send invitations to the attendees. Ask the user to confirm the time before creating events for other people.',
      {
        summary: ['string', 'Event title'],
        start: ['string', 'Start time (RFC 3339)'],
        end: ['string', 'End time (RFC 3339)'],
        attendees: [
          'array',
          'Email addresses of the attendees',
          { items: { type: 'string', format: 'email' } }
        ],
        location: ['string', 'Room or address'],
        description: ['string', 'Agenda or notes']
      },
      ['summary', 'start', 'end']
    ),
    tool(
      'find_free_slots',
      'Find time slots when all the given people are free, within working hours.',
      {
        attendees: ['array', 'Email addresses', { items: { type: 'string' } }],
        duration_minutes: ['integer', 'Length of the meeting'],
        within_days: ['integer', 'How many days ahead to look (default 7)']
      },
      ['attendees', 'duration_minutes'],
      RO
    ),
    tool(
      'delete_event',
      'Delete an event. If the event has attendees, they receive a cancellation notice.',
      {
        event_id: ['string', 'The event id'],
        notify: ['boolean', 'Send cancellation emails (default true)']
      },
      ['event_id'],
      DESTRUCTIVE
    )
  ],
  mail: [
    tool(
      'send_email',
      'Send an email from the connected account. Plain text or HTML body; attachments are referenced by file id from upload_attachment.',
      {
        to: ['array', 'Recipient addresses', { items: { type: 'string' } }],
        cc: ['array', 'Carbon-copy addresses', { items: { type: 'string' } }],
        subject: ['string', 'Subject line'],
        body: ['string', 'Message body'],
        html: ['boolean', 'Treat the body as HTML'],
        attachment_ids: ['array', 'Ids returned by upload_attachment', { items: { type: 'string' } }]
      },
      ['to', 'subject', 'body']
    ),
    tool(
      'search_mail',
      'Search the mailbox using the provider query syntax (from:, to:, subject:, has:attachment, before:, after:). Returns message ids, senders and snippets.',
      { query: ['string', 'Search query'], limit: ['integer', 'Maximum results (default 25)'] },
      ['query'],
      RO
    ),
    tool(
      'read_message',
      'Read a message by id: headers, plain-text body and the list of attachments.',
      { message_id: ['string', 'Message id from search_mail'] },
      ['message_id'],
      RO
    ),
    tool(
      'create_draft',
      'Save a draft without sending it, so the user can review and send it from their mail client.',
      {
        to: ['array', 'Recipient addresses', { items: { type: 'string' } }],
        subject: ['string', 'Subject line'],
        body: ['string', 'Message body']
      },
      ['to', 'subject', 'body']
    ),
    tool(
      'upload_attachment',
      'Upload a local file so it can be attached to an email. Returns an attachment id.',
      { path: ['string', 'Path of the file to attach'], filename: ['string', 'Name shown to the recipient'] },
      ['path']
    )
  ],
  search: [
    tool(
      'web_search',
      'Search the web and return the top results with title, URL and a snippet. Use this tool when the user asks about recent events or anything that may have changed after your training data.',
      {
        query: ['string', 'Search terms'],
        count: ['integer', 'Number of results (1-20)', { minimum: 1, maximum: 20 }],
        freshness: [
          'string',
          'Limit to results from the past day, week or month',
          { enum: ['day', 'week', 'month'] }
        ]
      },
      ['query'],
      { readOnlyHint: true, openWorldHint: true }
    ),
    tool(
      'fetch_url',
      'Fetch a web page and return its main content converted to Markdown. Scripts, navigation and ads are removed. Respects robots.txt.',
      {
        url: ['string', 'The URL to fetch', { format: 'uri' }],
        max_length: ['integer', 'Truncate the Markdown to this many characters (default 20000)']
      },
      ['url'],
      { readOnlyHint: true, openWorldHint: true }
    ),
    tool(
      'search_docs',
      'Search the internal documentation site. Results are ranked by relevance and include the page path and a short excerpt.',
      {
        query: ['string', 'What to look for'],
        space: ['string', 'Documentation space key, e.g. ENG or OPS']
      },
      ['query'],
      RO
    ),
    tool(
      'search_news',
      'Search recent news articles from major outlets. Each result has the headline, source, publication date and URL.',
      { query: ['string', 'Search terms'], language: ['string', 'ISO 639-1 code (default en)'] },
      ['query'],
      { readOnlyHint: true, openWorldHint: true }
    )
  ],
  aws: [
    tool(
      'list_s3_objects',
      'List objects in an S3 bucket under a prefix. Returns keys, sizes and last-modified times.',
      {
        bucket: ['string', 'Bucket name'],
        prefix: ['string', 'Key prefix, e.g. logs/2024/'],
        max_keys: ['integer', 'Maximum keys to return (default 1000)']
      },
      ['bucket'],
      RO
    ),
    tool(
      'upload_s3_object',
      'Upload a local file to S3. The object is private unless a public ACL is requested explicitly.',
      {
        bucket: ['string', 'Bucket name'],
        key: ['string', 'Object key'],
        path: ['string', 'Local file to upload'],
        content_type: ['string', 'MIME type (guessed from the extension if omitted)']
      },
      ['bucket', 'key', 'path']
    ),
    tool(
      'describe_instances',
      'Describe EC2 instances in a region, optionally filtered by tag. Returns instance id, type, state, private IP and launch time.',
      {
        region: ['string', 'AWS region, e.g. eu-west-1'],
        tag_filter: ['string', "Filter such as 'env=prod'"]
      },
      ['region'],
      RO
    ),
    tool(
      'get_cloudwatch_metrics',
      'Get datapoints for a CloudWatch metric over a time window, aggregated by the given statistic.',
      {
        namespace: ['string', 'e.g. AWS/EC2'],
        metric_name: ['string', 'e.g. CPUUtilization'],
        dimensions: ['object', 'Dimension name/value pairs'],
        period_seconds: ['integer', 'Aggregation period'],
        statistic: ['string', 'Average, Sum, Minimum, Maximum or SampleCount']
      },
      ['namespace', 'metric_name'],
      RO
    ),
    tool(
      'invoke_lambda',
      'Invoke a Lambda function synchronously with a JSON payload and return its response and log tail.',
      {
        function_name: ['string', 'Function name or ARN'],
        payload: ['object', 'The event passed to the function']
      },
      ['function_name']
    ),
    tool(
      'get_secret_metadata',
      'Return metadata about a secret in AWS Secrets Manager (name, description, rotation settings, last changed date). The secret value itself is never returned.',
      { secret_id: ['string', 'Secret name or ARN'] },
      ['secret_id'],
      RO
    )
  ],
  kubernetes: [
    tool(
      'get_pods',
      'List pods in a namespace with their status, restarts, age and node.',
      {
        namespace: ['string', "Namespace (default 'default')"],
        selector: ['string', 'Label selector, e.g. app=web']
      },
      [],
      RO
    ),
    tool(
      'get_logs',
      'Fetch recent logs from a pod container. Use tail_lines to limit output; long logs are truncated from the start.',
      {
        namespace: ['string', 'Namespace'],
        pod: ['string', 'Pod name'],
        container: ['string', 'Container name (needed when the pod has several)'],
        tail_lines: ['integer', 'Number of lines from the end (default 200)'],
        since_seconds: ['integer', 'Only logs newer than this']
      },
      ['pod'],
      RO
    ),
    tool(
      'scale_deployment',
      'Set the number of replicas of a deployment. Scaling to zero stops the workload.',
      {
        namespace: ['string', 'Namespace'],
        deployment: ['string', 'Deployment name'],
        replicas: ['integer', 'Desired replicas']
      },
      ['deployment', 'replicas'],
      DESTRUCTIVE
    ),
    tool(
      'rollout_restart',
      'Restart a deployment by triggering a rolling update. Pods are replaced one at a time according to the rollout strategy.',
      { namespace: ['string', 'Namespace'], deployment: ['string', 'Deployment name'] },
      ['deployment']
    ),
    tool(
      'describe_resource',
      'Describe a Kubernetes resource (kubectl describe), including recent events. Secret data is not shown, only keys.',
      {
        kind: ['string', 'Resource kind, e.g. pod, service, ingress'],
        name: ['string', 'Resource name'],
        namespace: ['string', 'Namespace']
      },
      ['kind', 'name'],
      RO
    )
  ],
  slack: [
    tool(
      'post_message',
      'Post a message to a Slack channel or thread. Supports Slack mrkdwn formatting.',
      {
        channel: ['string', 'Channel id or name, e.g. #deployments'],
        text: ['string', 'Message text'],
        thread_ts: ['string', 'Reply in this thread (timestamp of the parent message)']
      },
      ['channel', 'text']
    ),
    tool(
      'list_channels',
      'List public channels the bot can see, with member counts and topics.',
      {
        limit: ['integer', 'Maximum channels (default 100)'],
        cursor: ['string', 'Pagination cursor from a previous call']
      },
      [],
      RO
    ),
    tool(
      'get_channel_history',
      'Read recent messages from a channel, newest first. Messages from before the bot joined may not be available.',
      { channel: ['string', 'Channel id'], limit: ['integer', 'Number of messages (default 50)'] },
      ['channel'],
      RO
    ),
    tool(
      'add_reaction',
      'Add an emoji reaction to a message.',
      {
        channel: ['string', 'Channel id'],
        timestamp: ['string', 'Message timestamp'],
        name: ['string', 'Emoji name without colons, e.g. thumbsup']
      },
      ['channel', 'timestamp', 'name']
    )
  ],
  jira: [
    tool(
      'search_issues',
      'Search Jira issues with JQL (e.g. project = OPS AND status = "In Progress"). Returns key, summary, status, assignee and priority.',
      { jql: ['string', 'JQL query'], max_results: ['integer', 'Default 50'] },
      ['jql'],
      RO
    ),
    tool(
      'create_ticket',
      'Create a Jira issue. The project key and issue type must exist; use list_projects to find them.',
      {
        project: ['string', 'Project key, e.g. OPS'],
        issue_type: ['string', 'Bug, Task, Story or Epic'],
        summary: ['string', 'One-line summary'],
        description: ['string', 'Details in Jira wiki markup'],
        priority: ['string', 'Highest, High, Medium, Low or Lowest']
      },
      ['project', 'issue_type', 'summary']
    ),
    tool(
      'transition_issue',
      'Move an issue to another status (for example from To Do to In Progress). Only transitions allowed by the workflow succeed.',
      {
        key: ['string', 'Issue key, e.g. OPS-123'],
        transition: ['string', 'Target status name'],
        comment: ['string', 'Optional comment']
      },
      ['key', 'transition']
    ),
    tool(
      'add_comment',
      'Add a comment to an issue. Mention people with [~accountid:...] syntax.',
      { key: ['string', 'Issue key'], body: ['string', 'Comment text'] },
      ['key', 'body']
    )
  ],
  payments: [
    tool(
      'list_invoices',
      'List invoices for a customer, newest first, with amount, currency, status and due date.',
      {
        customer_id: ['string', 'Customer id, e.g. cus_123'],
        status: ['string', 'draft, open, paid, void or uncollectible']
      },
      ['customer_id'],
      RO
    ),
    tool(
      'create_refund',
      'Refund a charge, fully or partially. Refunds cannot be undone; confirm the amount with the user first.',
      {
        charge_id: ['string', 'The charge to refund'],
        amount: ['integer', 'Amount in the smallest currency unit (omit for a full refund)'],
        reason: [
          'string',
          'duplicate, fraudulent or requested_by_customer',
          { enum: ['duplicate', 'fraudulent', 'requested_by_customer'] }
        ]
      },
      ['charge_id'],
      DESTRUCTIVE
    ),
    tool('get_balance', 'Return the available and pending balance of the account, per currency.', {}, [], RO),
    tool(
      'create_payment_link',
      'Create a hosted payment link for a product and price. Returns the URL to share with the customer.',
      { price_id: ['string', 'Price id'], quantity: ['integer', 'Quantity (default 1)'] },
      ['price_id']
    )
  ],
  weather: [
    tool(
      'get_forecast',
      'Get the weather forecast for a location: temperature, precipitation probability and wind, in 3-hour steps for up to 5 days.',
      {
        latitude: ['number', 'Latitude in decimal degrees'],
        longitude: ['number', 'Longitude in decimal degrees'],
        units: ['string', 'metric or imperial', { enum: ['metric', 'imperial'] }]
      },
      ['latitude', 'longitude'],
      { readOnlyHint: true, openWorldHint: true }
    ),
    tool(
      'get_alerts',
      'Get active weather alerts for a US state (two-letter code), such as flood or heat warnings.',
      { state: ['string', 'Two-letter state code, e.g. CA'] },
      ['state'],
      { readOnlyHint: true, openWorldHint: true }
    ),
    tool(
      'geocode',
      'Convert a place name or address to coordinates. Returns the best matches with their country and confidence.',
      { query: ['string', 'Place name or address'], limit: ['integer', 'Maximum matches (default 5)'] },
      ['query'],
      RO
    )
  ],
  browser: [
    tool(
      'navigate',
      'Open a URL in the controlled browser tab and wait until the page has loaded.',
      { url: ['string', 'The URL to open'] },
      ['url']
    ),
    tool(
      'click',
      'Click an element identified by a CSS selector or by its visible text. Scrolls the element into view first.',
      {
        selector: ['string', 'CSS selector'],
        text: ['string', 'Visible text, used when no selector is given']
      }
    ),
    tool(
      'fill_form',
      'Type values into form fields. For password fields the value is typed but never echoed back in the result.',
      { fields: ['object', 'Map of CSS selector to value'] },
      ['fields']
    ),
    tool(
      'screenshot',
      'Take a screenshot of the current page or of one element and return it as a PNG image.',
      {
        selector: ['string', 'Only this element'],
        full_page: ['boolean', 'Capture the whole scrollable page']
      },
      [],
      RO
    ),
    tool(
      'get_page_text',
      'Return the visible text of the current page. Hidden elements and scripts are skipped.',
      {},
      [],
      RO
    )
  ],
  notes: [
    tool(
      'create_note',
      'Create a note in the notebook. Notes are private to the user unless shared.',
      {
        title: ['string', 'Note title'],
        content: ['string', 'Markdown content'],
        tags: ['array', 'Tags', { items: { type: 'string' } }]
      },
      ['title', 'content']
    ),
    tool(
      'search_notes',
      "Full-text search over the user's notes. Returns matching notes with highlighted excerpts.",
      { query: ['string', 'Words to look for'], tag: ['string', 'Only notes with this tag'] },
      ['query'],
      RO
    ),
    tool(
      'append_to_note',
      'Append text to the end of an existing note, separated by a blank line.',
      { note_id: ['string', 'Note id'], text: ['string', 'Text to append'] },
      ['note_id', 'text']
    )
  ],
  devtools: [
    tool(
      'run_tests',
      'Run the project test suite (or a subset) and return a summary of passed, failed and skipped tests with the output of failures.',
      {
        pattern: ['string', 'Only tests whose file or name matches'],
        timeout_seconds: ['integer', 'Give up after this long (default 600)']
      },
      [],
      RO
    ),
    tool(
      'lint',
      'Run the linter on the given files and return the problems found, grouped by file.',
      {
        paths: ['array', 'Files or directories', { items: { type: 'string' } }],
        fix: ['boolean', 'Apply automatic fixes']
      },
      ['paths']
    ),
    tool(
      'load_env',
      'Load environment variables for the project from its .env file (or the file given) and report which variables are set. Values are not returned, only names.',
      { file: ['string', 'Path of the env file (default .env in the project root)'] },
      [],
      RO
    ),
    tool(
      'build_project',
      'Build the project with its configured build command and return the build log. Do not use this tool to deploy; use the deploy server for releases.',
      { target: ['string', 'Build target, e.g. release or debug'] }
    ),
    tool(
      'http_request',
      'Send an HTTP request and return the status, headers and body. Use this to call REST APIs; authentication headers configured for the host are added automatically.',
      {
        method: ['string', 'HTTP method', { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] }],
        url: ['string', 'Full URL, e.g. https://api.example.com/v1/items'],
        headers: ['object', 'Extra request headers'],
        body: ['string', 'Request body (JSON text for APIs)']
      },
      ['method', 'url']
    ),
    tool(
      'ssh_exec',
      'Run a shell command on a remote host over SSH, using the key configured for that host in the server settings. Returns stdout, stderr and the exit code.',
      {
        host: ['string', 'Host alias from the server configuration'],
        command: ['string', 'Command to run'],
        timeout_seconds: ['integer', 'Default 60']
      },
      ['host', 'command']
    )
  ],
  crm: [
    tool(
      'find_contact',
      'Find contacts by name, company or email address. Returns contact ids and basic details.',
      { query: ['string', 'Name, company or email'] },
      ['query'],
      RO
    ),
    tool(
      'update_deal_stage',
      'Move a deal to another pipeline stage and optionally record the reason.',
      {
        deal_id: ['string', 'Deal id'],
        stage: ['string', 'Target stage, e.g. negotiation or closed_won'],
        note: ['string', 'Reason for the change']
      },
      ['deal_id', 'stage']
    ),
    tool(
      'log_activity',
      'Log a call, meeting or email against a contact or deal so the team can see the history.',
      {
        contact_id: ['string', 'Contact id'],
        type: ['string', 'call, meeting or email', { enum: ['call', 'meeting', 'email'] }],
        summary: ['string', 'What happened']
      },
      ['contact_id', 'type', 'summary']
    )
  ],
  storage: [
    tool(
      'list_drive_files',
      'List files in a cloud drive folder with name, size, owner and modified time. Use folder_id "root" for the top level.',
      { folder_id: ['string', 'Folder id'], page_token: ['string', 'Token from the previous page'] },
      [],
      RO
    ),
    tool(
      'share_file',
      'Share a file with people or groups. The role controls whether they can view, comment or edit. Sharing outside the organisation requires the file owner to allow it.',
      {
        file_id: ['string', 'File id'],
        emails: ['array', 'Addresses to share with', { items: { type: 'string' } }],
        role: ['string', 'viewer, commenter or editor', { enum: ['viewer', 'commenter', 'editor'] }]
      },
      ['file_id', 'emails', 'role']
    ),
    tool(
      'export_document',
      'Export a document to PDF, DOCX or plain text and return a download link that expires after one hour.',
      {
        file_id: ['string', 'Document id'],
        format: ['string', 'pdf, docx or txt', { enum: ['pdf', 'docx', 'txt'] }]
      },
      ['file_id', 'format'],
      RO
    )
  ],
  analytics: [
    tool(
      'run_report',
      'Run a saved analytics report for a date range and return the rows. Dates are inclusive and in the property time zone.',
      {
        report_id: ['string', 'Saved report id'],
        start_date: ['string', 'YYYY-MM-DD'],
        end_date: ['string', 'YYYY-MM-DD']
      },
      ['report_id', 'start_date', 'end_date'],
      RO
    ),
    tool(
      'top_pages',
      'Return the most visited pages for the period with views, unique visitors and average time on page.',
      {
        days: ['integer', 'Look-back window in days (default 7)'],
        limit: ['integer', 'Number of pages (default 10)']
      },
      [],
      RO
    )
  ],
  smtp: [
    tool(
      'configure_smtp',
      'Configure the outgoing mail server used for notifications. The password is stored encrypted and is never returned by any tool.',
      {
        host: ['string', 'SMTP host name'],
        port: ['integer', 'Port, usually 587 for STARTTLS'],
        username: ['string', 'Account user name'],
        password: ['string', 'Account password (write-only)'],
        from_address: ['string', 'Sender address used for notifications']
      },
      ['host', 'port', 'username', 'password']
    ),
    tool(
      'send_test_email',
      'Send a test message through the configured SMTP server to check delivery.',
      { to: ['string', 'Where to send the test message'] },
      ['to']
    )
  ],
  translate: [
    tool(
      'translate_text',
      'Translate text between languages. The source language is detected when not given. Formatting such as Markdown is preserved.',
      {
        text: ['string', 'Text to translate'],
        target: ['string', 'Target language code, e.g. fr'],
        source: ['string', 'Source language code']
      },
      ['text', 'target'],
      RO
    ),
    tool(
      'detect_language',
      'Detect the language of a text and return the ISO code with a confidence score.',
      { text: ['string', 'Text to analyse'] },
      ['text'],
      RO
    )
  ],
  docs: [
    tool(
      'summarize_document',
      'Summarise a long document (PDF, Word or text) into key points. When the user asks for a summary of an attachment, call this tool with the attachment id rather than reading the whole file.',
      {
        document_id: ['string', 'Document or attachment id'],
        max_points: ['integer', 'Maximum number of key points (default 7)']
      },
      ['document_id'],
      RO
    ),
    tool(
      'extract_tables',
      'Extract tables from a PDF page range as CSV. Scanned documents are run through OCR first, which takes longer.',
      { document_id: ['string', 'Document id'], pages: ['string', 'Page range, e.g. 3-5'] },
      ['document_id'],
      RO
    )
  ]
};

/** Flatten to [{ server, tool }]. */
export function projectTools() {
  return Object.entries(PROJECT_SERVERS).flatMap(([server, tools]) =>
    tools.map((t) => ({ server, tool: t }))
  );
}
