//! The serenity [`EventHandler`]: slash commands, @mentions and DMs in, replies out.
//!
//! Owns the I/O rules that hold for every send: `allowed_mentions` empty (see
//! [`render::no_mentions`]), an interaction answered within Discord's 3 s (deferred when the
//! engine is slow), and a panic or error in one handler turned into a log line plus an apology
//! to that user, never a dead bot. Logs carry ids, command names and lengths; what users wrote
//! is logged only with `discord.log_message_text = true` (at debug level).
//!
//! After a reply is sent, the question is counted in the gap log when it was declined or
//! weakly answered (`gaps::classify`); a 👍/👎 press is counted against the rated passage.
//! Both are written on the blocking pool after the reply, and a failure is logged, never
//! shown to the user.
//!
//! Shutdown: [`Handler::drain`] stops taking new events and waits for the ones in flight
//! (their replies and gap-log writes) to finish.
//!
//! Business logic lives in the engine; parsing and engine calls in `commands.rs`; formatting
//! in `render.rs`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serenity::async_trait;
use serenity::builder::{CreateInteractionResponse, CreateInteractionResponseMessage};
use serenity::client::{Context, EventHandler};
use serenity::model::application::{
    Command, CommandInteraction, ComponentInteraction, Interaction,
};
use serenity::model::channel::Message;
use serenity::model::gateway::Ready;
use serenity::model::id::{GuildId, UserId};
use tokio::sync::Notify;
use tokio::task::JoinError;
use tracing::{debug, error, info, info_span, warn, Instrument};

use super::commands::{self, Request};
use super::ratelimit::{Decision, RateLimiter};
use super::render::{self, Reply};
use super::votes::{self, VoteKeys};
use crate::answer::Answer;
use crate::engine::Engine;
use crate::gaps::{self, GapLog};

/// An interaction must be acknowledged within 3 s; past this, defer and edit later.
const DEFER_AFTER: Duration = Duration::from_millis(2000);

/// Why a handler could not finish (a panic is caught separately).
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("Discord API error: {0}")]
    Discord(Box<serenity::Error>),
    #[error("engine task failed: {0}")]
    Engine(#[from] JoinError),
}

impl From<serenity::Error> for Failure {
    fn from(e: serenity::Error) -> Self {
        Failure::Discord(Box::new(e))
    }
}

/// How far an interaction got, so an apology uses the right endpoint.
#[derive(Debug, Default)]
struct Ack(AtomicU8);

impl Ack {
    const NONE: u8 = 0;
    const DEFERRED: u8 = 1;
    const DONE: u8 = 2;

    fn get(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self, v: u8) {
        self.0.store(v, Ordering::SeqCst);
    }
}

/// Resets a flag when dropped, including during a panic unwind.
struct ResetOnDrop<'a>(&'a AtomicBool);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Counts the events being handled, so shutdown can wait for them.
#[derive(Debug, Default)]
struct InFlight {
    count: AtomicUsize,
    closing: AtomicBool,
    idle: Notify,
}

/// One event being handled; dropping it (even in a panic unwind) lets shutdown proceed.
struct Busy<'a>(&'a InFlight);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl InFlight {
    /// `None` once shutdown has begun: the event is dropped.
    fn enter(&self) -> Option<Busy<'_>> {
        self.count.fetch_add(1, Ordering::SeqCst);
        // Checked after counting: either `drain` sees this event, or this sees `closing`.
        if self.closing.load(Ordering::SeqCst) {
            self.leave();
            return None;
        }
        Some(Busy(self))
    }

    fn leave(&self) {
        if self.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Refuses new events, then waits until none is in flight or `timeout` passed.
    /// Returns the number still running at the end (0 when all finished).
    async fn drain(&self, timeout: Duration) -> usize {
        self.closing.store(true, Ordering::SeqCst);
        let all_done = async {
            loop {
                let idle = self.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if self.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        let _ = tokio::time::timeout(timeout, all_done).await;
        self.count.load(Ordering::SeqCst)
    }
}

/// State shared by every event (typed, no `TypeMap`).
struct State {
    engine: Arc<Engine>,
    /// The knowledge-gap log (declined / weak answers, passage votes).
    gaps: Arc<GapLog>,
    /// `gaps.low_confidence_below`.
    low_confidence_below: f32,
    /// Keys of long passage paths behind vote buttons.
    votes: VoteKeys,
    in_flight: InFlight,
    limiter: RateLimiter,
    guild_id: Option<GuildId>,
    admin_role_ids: Vec<u64>,
    log_message_text: bool,
    /// The bot's own user id, known from READY.
    me: OnceLock<UserId>,
    /// Commands are registered once per process (READY also fires after reconnects).
    registered: AtomicBool,
    /// One `/reindex` at a time.
    reindexing: AtomicBool,
}

/// The event handler given to serenity. Clones share their state (one for serenity, one
/// for the shutdown sequence in `run`).
#[derive(Clone)]
pub struct Handler {
    state: Arc<State>,
}

impl Handler {
    /// Reads the `[discord]` and `[gaps]` settings from the engine's config; `gaps` is the
    /// opened gap log.
    pub fn new(engine: Arc<Engine>, gaps: Arc<GapLog>) -> Handler {
        let config = engine.config().discord.clone();
        Handler {
            state: Arc::new(State {
                gaps,
                low_confidence_below: engine.config().gaps.low_confidence_below,
                votes: VoteKeys::default(),
                in_flight: InFlight::default(),
                limiter: RateLimiter::new(&config.rate_limit),
                guild_id: config.guild_id.map(GuildId::new),
                admin_role_ids: config.admin_role_ids,
                log_message_text: config.log_message_text,
                me: OnceLock::new(),
                registered: AtomicBool::new(false),
                reindexing: AtomicBool::new(false),
                engine,
            }),
        }
    }

    /// Stops handling new events and waits up to `timeout` for those in flight (their
    /// replies and gap-log writes). Returns how many were still running at the deadline.
    pub async fn drain(&self, timeout: Duration) -> usize {
        self.state.in_flight.drain(timeout).await
    }
}

/// Runs `work` on its own task so that a panic is contained; logs failures and panics
/// (without the panic message unless `log_text`: a slicing panic quotes the user's text).
/// Returns true when the work finished normally.
async fn guarded<F>(work: F, log_text: bool) -> bool
where
    F: Future<Output = Result<(), Failure>> + Send + 'static,
{
    match tokio::spawn(work.in_current_span()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            error!(error = %e, "handler failed");
            false
        }
        Err(e) if e.is_panic() => {
            if log_text {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                error!(panic = %message, "handler panicked");
            } else {
                error!("handler panicked");
            }
            false
        }
        Err(_) => {
            warn!("handler task cancelled");
            false
        }
    }
}

/// The text of a mention or DM with the bot's own mentions (`<@id>`, `<@!id>`) removed.
pub fn strip_mention(content: &str, me: UserId) -> String {
    let id = me.get();
    content
        .replace(&format!("<@{id}>"), " ")
        .replace(&format!("<@!{id}>"), " ")
        .trim()
        .to_string()
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.state.me.set(ready.user.id);
        ctx.http.set_application_id(ready.application.id);
        info!(
            user_id = %ready.user.id,
            application_id = %ready.application.id,
            guilds = ready.guilds.len(),
            shard = ?ready.shard.map(|s| (s.id.0, s.total)),
            "connected to the Discord gateway"
        );
        if self.state.registered.swap(true, Ordering::SeqCst) {
            return;
        }
        let definitions = commands::definitions();
        let result = match self.state.guild_id {
            Some(guild) => guild.set_commands(&ctx.http, definitions).await,
            None => Command::set_global_commands(&ctx.http, definitions).await,
        };
        match result {
            Ok(registered) => info!(
                count = registered.len(),
                guild_id = ?self.state.guild_id.map(GuildId::get),
                "registered slash commands ({})",
                if self.state.guild_id.is_some() { "guild: instant" } else { "global: may take up to an hour" }
            ),
            Err(e) => {
                // Try again on the next READY.
                self.state.registered.store(false, Ordering::SeqCst);
                error!(error = %e, "registering slash commands failed");
            }
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let Some(_busy) = self.state.in_flight.enter() else {
            info!("shutting down: interaction not handled");
            return;
        };
        match interaction {
            Interaction::Command(command) => self.on_command(ctx, command).await,
            Interaction::Component(component) => self.on_component(ctx, component).await,
            _ => {}
        }
    }

    async fn message(&self, ctx: Context, msg: Message) {
        let Some(_busy) = self.state.in_flight.enter() else {
            return;
        };
        self.on_message(ctx, msg).await;
    }
}

impl Handler {
    async fn on_command(&self, ctx: Context, command: CommandInteraction) {
        let span = info_span!(
            "command",
            name = %command.data.name,
            interaction_id = %command.id,
            user_id = %command.user.id,
            guild_id = ?command.guild_id.map(GuildId::get),
        );
        let state = Arc::clone(&self.state);
        let ack = Arc::new(Ack::default());
        let work = {
            let (ctx, command, ack) = (ctx.clone(), command.clone(), Arc::clone(&ack));
            async move { state.command(&ctx, &command, &ack).await }
        };
        if !guarded(work, self.state.log_message_text)
            .instrument(span.clone())
            .await
        {
            apologise_interaction(&ctx, &command, &ack)
                .instrument(span)
                .await;
        }
    }

    /// A button press: only our vote buttons are known.
    async fn on_component(&self, ctx: Context, component: ComponentInteraction) {
        let span = info_span!(
            "component",
            interaction_id = %component.id,
            user_id = %component.user.id,
            guild_id = ?component.guild_id.map(GuildId::get),
        );
        let state = Arc::clone(&self.state);
        let work = {
            let (ctx, component) = (ctx.clone(), component.clone());
            async move { state.vote(&ctx, &component).await }
        };
        if !guarded(work, self.state.log_message_text)
            .instrument(span.clone())
            .await
        {
            let reply = render::apology();
            let response = CreateInteractionResponse::Message(reply.to_interaction_message());
            if let Err(e) = component
                .create_response(&ctx.http, response)
                .instrument(span)
                .await
            {
                warn!(error = %e, "could not apologise");
            }
        }
    }

    async fn on_message(&self, ctx: Context, msg: Message) {
        // Bots, ourselves included, are never answered (no loops between bots).
        if msg.author.bot {
            return;
        }
        let Some(&me) = self.state.me.get() else {
            return;
        };
        let dm = msg.guild_id.is_none();
        // Discord fills `mentions` from the text; a mention in a reply to us also counts.
        let mentioned = msg.mentions.iter().any(|u| u.id == me);
        if msg.author.id == me || !(dm || mentioned) {
            return;
        }
        let span = info_span!(
            "message",
            message_id = %msg.id,
            channel_id = %msg.channel_id,
            user_id = %msg.author.id,
            dm,
        );
        let state = Arc::clone(&self.state);
        let work = {
            let (ctx, msg) = (ctx.clone(), msg.clone());
            async move { state.message(&ctx, &msg, me).await }
        };
        if !guarded(work, self.state.log_message_text)
            .instrument(span.clone())
            .await
        {
            if let Err(e) = send_reply(&ctx, &msg, &render::apology())
                .instrument(span)
                .await
            {
                warn!(error = %e, "could not apologise");
            }
        }
    }
}

impl State {
    fn log_question(&self, question: &str) {
        if self.log_message_text {
            debug!(chars = question.chars().count(), text = %question, "question");
        } else {
            debug!(chars = question.chars().count(), "question");
        }
    }

    async fn command(
        &self,
        ctx: &Context,
        cmd: &CommandInteraction,
        ack: &Ack,
    ) -> Result<(), Failure> {
        let options: Vec<_> = cmd
            .data
            .options()
            .into_iter()
            .map(|o| (o.name, o.value))
            .collect();
        let Some(request) = Request::parse(&cmd.data.name, &options) else {
            warn!("unknown command");
            return respond(
                ctx,
                cmd,
                ack,
                &render::notice("I don't know that command.").ephemeral(),
            )
            .await;
        };
        if request == Request::Reindex || request == Request::Gaps {
            // Admins only, and not counted against the rate limit.
            if !self.is_admin(cmd) {
                info!(command = request.name(), "refused: not an admin");
                return respond(ctx, cmd, ack, &render::admins_only(request.name())).await;
            }
            return if request == Request::Gaps {
                self.gaps(ctx, cmd, ack).await
            } else {
                self.reindex(ctx, cmd, ack).await
            };
        }
        if let Decision::Limited { retry_after, .. } = self.limiter.check(cmd.user.id.get()) {
            info!(
                retry_after_ms = retry_after.as_millis() as u64,
                "rate limited"
            );
            return respond(ctx, cmd, ack, &render::slow_down(retry_after)).await;
        }
        match request {
            Request::Ask { question, private } => self.ask(ctx, cmd, ack, question, private).await,
            other => {
                let reply = commands::info(Arc::clone(&self.engine), &other).await?;
                respond(ctx, cmd, ack, &reply).await
            }
        }
    }

    async fn ask(
        &self,
        ctx: &Context,
        cmd: &CommandInteraction,
        ack: &Ack,
        question: String,
        private: bool,
    ) -> Result<(), Failure> {
        self.log_question(&question);
        if question.trim().is_empty() {
            return respond(
                ctx,
                cmd,
                ack,
                &render::notice("Please write a question.").ephemeral(),
            )
            .await;
        }
        let started = Instant::now();
        let job = commands::ask(Arc::clone(&self.engine), question);
        tokio::pin!(job);
        let answer = match tokio::time::timeout(DEFER_AFTER, &mut job).await {
            Ok(answer) => answer?,
            Err(_) => {
                warn!("engine slow: deferring the reply");
                defer(ctx, cmd, ack, private).await?;
                job.await?
            }
        };
        let mut reply = render::answer(&answer);
        reply.ephemeral = private;
        reply.vote = self.vote_key(&answer);
        info!(
            urgency = ?answer.triage.urgency,
            answered = answer.answered,
            passages = answer.passages.len(),
            reply_chars = reply.text().chars().count(),
            took_ms = started.elapsed().as_millis() as u64,
            private,
            "answered"
        );
        respond(ctx, cmd, ack, &reply).await?;
        self.record_gap(&answer).await;
        Ok(())
    }

    /// Administrator or Manage Server in this channel, or a configured admin role; never in
    /// a DM. Discord hides admin commands from others already; this is the check we trust.
    fn is_admin(&self, cmd: &CommandInteraction) -> bool {
        cmd.member
            .as_deref()
            .is_some_and(|m| commands::is_admin(m.permissions, &m.roles, &self.admin_role_ids))
    }

    /// The key the vote buttons under `answer` carry: its first (best) quoted passage.
    fn vote_key(&self, answer: &Answer) -> Option<String> {
        answer
            .passages
            .first()
            .map(|quote| self.votes.key_for(&quote.path))
    }

    /// Counts `answer` in the gap log when it was declined or weak. Runs after the reply was
    /// sent; a failure is logged (without the question) and otherwise ignored.
    async fn record_gap(&self, answer: &Answer) {
        let Some(kind) = gaps::classify(answer, self.low_confidence_below) else {
            return;
        };
        let (log, question) = (Arc::clone(&self.gaps), answer.question.clone());
        match tokio::task::spawn_blocking(move || log.record(&question, kind)).await {
            Ok(Ok(())) => debug!(
                ?kind,
                confidence = answer.confidence,
                "knowledge gap recorded"
            ),
            Ok(Err(e)) => warn!(error = %e, "could not record a knowledge gap"),
            Err(e) => warn!(error = %e, "gap-log task failed"),
        }
    }

    /// `/gaps` (admins; checked by the caller).
    async fn gaps(
        &self,
        ctx: &Context,
        cmd: &CommandInteraction,
        ack: &Ack,
    ) -> Result<(), Failure> {
        let reply = match commands::gaps(Arc::clone(&self.gaps)).await? {
            Ok(report) => render::gaps(&report),
            Err(e) => {
                error!(error = %e, "reading the gap log failed");
                render::gaps_unavailable()
            }
        };
        respond(ctx, cmd, ack, &reply).await
    }

    /// A 👍/👎 press: thank the voter (only they see it), then count the vote against the
    /// passage. Nothing about the voter is stored.
    async fn vote(&self, ctx: &Context, press: &ComponentInteraction) -> Result<(), Failure> {
        let Some(vote) = votes::parse(&press.data.custom_id) else {
            warn!("unknown component");
            return Ok(());
        };
        let Some(passage) = self.votes.resolve(vote.key) else {
            info!("vote on an expired answer");
            let reply = render::vote_expired();
            press
                .create_response(
                    &ctx.http,
                    CreateInteractionResponse::Message(reply.to_interaction_message()),
                )
                .await?;
            return Ok(());
        };
        let reply = render::vote_thanks(vote.up);
        press
            .create_response(
                &ctx.http,
                CreateInteractionResponse::Message(reply.to_interaction_message()),
            )
            .await?;
        let (log, up) = (Arc::clone(&self.gaps), vote.up);
        match tokio::task::spawn_blocking(move || log.vote(&passage, up)).await {
            Ok(Ok(())) => info!(up, "vote recorded"),
            Ok(Err(e)) => warn!(error = %e, "could not record a vote"),
            Err(e) => warn!(error = %e, "gap-log task failed"),
        }
        Ok(())
    }

    async fn reindex(
        &self,
        ctx: &Context,
        cmd: &CommandInteraction,
        ack: &Ack,
    ) -> Result<(), Failure> {
        if self.reindexing.swap(true, Ordering::SeqCst) {
            return respond(ctx, cmd, ack, &render::reindex_busy()).await;
        }
        let result = {
            // Released once the rebuild is over (or on an error or panic), before the report
            // is sent: an admin who sees the report can start the next one.
            let _running = ResetOnDrop(&self.reindexing);
            defer(ctx, cmd, ack, true).await?;
            commands::reindex(Arc::clone(&self.engine)).await?
        };
        let reply = match result {
            Ok(report) => {
                info!(
                    files = report.files,
                    passages = report.passages,
                    problems = report.problems.len(),
                    took_ms = report.took.as_millis() as u64,
                    "index rebuilt"
                );
                render::reindex_done(&report)
            }
            Err(e) => {
                error!(error = %e, "rebuild failed; the previous index keeps serving");
                render::reindex_failed(&e)
            }
        };
        respond(ctx, cmd, ack, &reply).await
    }

    async fn message(&self, ctx: &Context, msg: &Message, me: UserId) -> Result<(), Failure> {
        let question = strip_mention(&msg.content, me);
        self.log_question(&question);
        if question.is_empty() {
            return send_reply(ctx, msg, &render::empty_question()).await;
        }
        match self.limiter.check(msg.author.id.get()) {
            Decision::Allowed => {}
            Decision::Limited { retry_after, first } => {
                info!(
                    retry_after_ms = retry_after.as_millis() as u64,
                    first, "rate limited"
                );
                // Say it once; answering every extra message would be the spam we prevent.
                return if first {
                    send_reply(ctx, msg, &render::slow_down(retry_after)).await
                } else {
                    Ok(())
                };
            }
        }
        let started = Instant::now();
        let answer = commands::ask(Arc::clone(&self.engine), question).await?;
        let mut reply = render::answer(&answer);
        reply.vote = self.vote_key(&answer);
        info!(
            urgency = ?answer.triage.urgency,
            answered = answer.answered,
            passages = answer.passages.len(),
            reply_chars = reply.text().chars().count(),
            took_ms = started.elapsed().as_millis() as u64,
            "answered"
        );
        send_reply(ctx, msg, &reply).await?;
        self.record_gap(&answer).await;
        Ok(())
    }
}

/// Acknowledges an interaction now and answers later (Discord shows "thinking…").
async fn defer(
    ctx: &Context,
    cmd: &CommandInteraction,
    ack: &Ack,
    ephemeral: bool,
) -> Result<(), Failure> {
    let message = CreateInteractionResponseMessage::new()
        .ephemeral(ephemeral)
        .allowed_mentions(render::no_mentions());
    cmd.create_response(&ctx.http, CreateInteractionResponse::Defer(message))
        .await?;
    ack.set(Ack::DEFERRED);
    Ok(())
}

/// Sends `reply` as the interaction's response, or as an edit of the deferred one.
async fn respond(
    ctx: &Context,
    cmd: &CommandInteraction,
    ack: &Ack,
    reply: &Reply,
) -> Result<(), Failure> {
    if ack.get() == Ack::DEFERRED {
        cmd.edit_response(&ctx.http, reply.to_edit()).await?;
    } else {
        cmd.create_response(
            &ctx.http,
            CreateInteractionResponse::Message(reply.to_interaction_message()),
        )
        .await?;
    }
    ack.set(Ack::DONE);
    Ok(())
}

/// Replies to a channel message (a mention or a DM), pinging nobody.
async fn send_reply(ctx: &Context, msg: &Message, reply: &Reply) -> Result<(), Failure> {
    msg.channel_id
        .send_message(&ctx.http, reply.to_message().reference_message(msg))
        .await?;
    Ok(())
}

async fn apologise_interaction(ctx: &Context, cmd: &CommandInteraction, ack: &Ack) {
    let reply = render::apology();
    let result = match ack.get() {
        Ack::NONE => {
            cmd.create_response(
                &ctx.http,
                CreateInteractionResponse::Message(reply.to_interaction_message()),
            )
            .await
        }
        Ack::DEFERRED => cmd
            .edit_response(&ctx.http, reply.to_edit())
            .await
            .map(|_| ()),
        // Already answered: the failure came after (nothing to take back).
        _ => return,
    };
    if let Err(e) = result {
        warn!(error = %e, "could not apologise");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_both_mention_forms() {
        let me = UserId::new(42);
        assert_eq!(strip_mention("<@42> is massage ok?", me), "is massage ok?");
        assert_eq!(strip_mention("hey <@!42>  help", me), "hey    help");
        assert_eq!(strip_mention("<@43> hi", me), "<@43> hi");
        assert_eq!(strip_mention("<@42>", me), "");
    }

    /// A panic in one handler leaves handlers running beside it, and later ones, unaffected
    /// (a panic cannot be caused end to end without a test-only hook, so this is the proof
    /// that it never takes the bot down; the apology it triggers is the e2e-tested path of a
    /// failed handler).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_leaves_other_handlers_running() {
        let beside = tokio::spawn(guarded(
            async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(())
            },
            false,
        ));
        let panicked = guarded(
            async {
                let v: Vec<u8> = Vec::new();
                let _ = v[usize::MAX >> 1];
                Ok(())
            },
            false,
        )
        .await;
        assert!(!panicked);
        assert!(beside.await.unwrap(), "the handler beside it finished");
        assert!(
            guarded(async { Ok(()) }, false).await,
            "and the next one runs"
        );
    }

    #[tokio::test]
    async fn a_panic_is_contained_and_reported() {
        let ok = guarded(async { Ok(()) }, false).await;
        assert!(ok);
        let panicked = guarded(
            async {
                let v: Vec<u8> = Vec::new();
                let _ = v[usize::MAX >> 1];
                Ok(())
            },
            false,
        )
        .await;
        assert!(!panicked);
        let failed = guarded(
            async { Err(Failure::Discord(Box::new(serenity::Error::Other("x")))) },
            true,
        )
        .await;
        assert!(!failed);
    }
}
