<?php
/**
 * Plugin Name:       Moderation service
 * Description:       Sends visitors' comments to a self-hosted moderation service and applies its
 *                    moderators' decisions here; decisions made in wp-admin go back to the service.
 * Version:           1.1.0
 * Requires at least: 6.1
 * Requires PHP:      8.0
 * License:           Apache-2.0
 *
 * Both directions, in short (README.md, "WordPress", says why):
 *   comment → service  `pre_comment_approved`, after WordPress's own duplicate and flood checks,
 *                      POST /v1/comments with an Idempotency-Key derived from the comment; the
 *                      answer sets the comment's status. Held and sent again (same key) by WP-Cron
 *                      when the service cannot take it.
 *   service → here     POST /wp-json/moderation/v1/events (or ?rest_route=…), a signed webhook:
 *                      approve / spam / trash the comment it names, if its revision is newer
 *                      than the last one applied here.
 *   wp-admin → service approve, spam, not spam, trash become moderator decisions
 *                      (POST /v1/review/{id}/decision with the moderator token), queued in an
 *                      outbox (comment meta) first and sent in order; what the service cannot
 *                      take now is sent by WP-Cron.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

final class Moderation_Service {
	const OPTION = 'moderation_service';
	// The service's id of a comment; the webhook names comments by it.
	const META_ID = '_moderation_id';
	// The Idempotency-Key of the comment's submission: every retry sends the same one, with
	// the same post address, title, parent and language (META_CONTEXT, JSON; no personal data).
	const META_KEY     = '_moderation_key';
	const META_CONTEXT = '_moderation_context';
	// The newest revision of the comment in the service applied here or recorded from here
	// (0: the automatic verdict; one more per decision). An event with an older or equal
	// revision (a late retry, the echo of our own decision) changes nothing.
	const META_REV = '_moderation_rev';
	// Before revisions (an older service): the service's time (Unix ms) of the newest decision.
	const META_DECIDED_AT = '_moderation_decided_at';
	// What wp-admin shows: JSON {status, spam_score, reasons: [{code, message}], by}.
	const META_VERDICT = '_moderation_verdict';
	// Why the comment is not (or no longer) in step with the service, for the admin to see.
	const META_SYNC = '_moderation_sync';
	// Not sent yet (the service was down): WordPress's own status at posting, for the retry.
	const META_UNSENT = '_moderation_unsent';
	// The outbox: one row per wp-admin decision not yet recorded by the service (several rows
	// per comment; meta_id is the order), JSON {decision, note, reason, at}.
	const META_OUTBOX = '_moderation_outbox';
	// Unix time the last queued decision reached the service ("synced" in the comment list).
	const META_SYNCED = '_moderation_synced';
	const RETRY_HOOK = 'moderation_service_retry';
	// Seconds before WP-Cron sends unsent comments and queued decisions again; taken per run.
	const RETRY_DELAY = 300;
	const RETRY_BATCH = 50;
	// The webhook signature is refused when its timestamp is further than this from our clock.
	const SIGNATURE_TOLERANCE = 300;
	// Seconds to wait for the service while a visitor waits for the comment form's answer.
	const SUBMIT_TIMEOUT = 5;
	const DECIDE_TIMEOUT = 10;
	// The service waits MODERATION_WEBHOOK_TIMEOUT_SECONDS (5 s) for this site's answer to a test event.
	const WEBHOOK_TEST_TIMEOUT = 15;
	// A refused comment's id stays known this long, so its events are acknowledged, not retried.
	const REFUSED_TTL = DAY_IN_SECONDS;
	// The service refuses longer post titles (CommentIn.post_title).
	const MAX_TITLE_CHARS = 300;
	// Reasons shown per comment in the comment list.
	const SHOWN_REASONS = 3;
	// Settings: option key => constant that overrides it (in /etc/wordpress/config-<host>.php).
	const FIELDS = array(
		'url'             => 'MODERATION_SERVICE_URL',
		'site'            => 'MODERATION_SERVICE_SITE',
		'api_key'         => 'MODERATION_SERVICE_API_KEY',
		'moderator_token' => 'MODERATION_SERVICE_MODERATOR_TOKEN',
		'webhook_secret'  => 'MODERATION_SERVICE_WEBHOOK_SECRET',
	);
	const SECRETS = array( 'api_key', 'moderator_token', 'webhook_secret' );
	// The service's final statuses as WordPress's wp_set_comment_status() verbs.
	const EVENT_STATUS = array(
		'comment.approved' => 'approve',
		'comment.rejected' => 'trash',
		'comment.spam'     => 'spam',
	);
	// wp_set_comment_status() verb => what wp_get_comment_status() then says.
	const VERB_WP_STATUS = array(
		'approve' => 'approved',
		'trash'   => 'trash',
		'spam'    => 'spam',
	);
	// wp_set_comment_status() verb => the service's status it shows.
	const EVENT_VERB_STATUS = array(
		'approve' => 'approved',
		'trash'   => 'rejected',
		'spam'    => 'spam',
	);
	// A decision sent from here => the service's status it records.
	const DECISION_STATUS = array(
		'approve' => 'approved',
		'reject'  => 'rejected',
		'spam'    => 'spam',
	);

	/** @var array{id: string, status: string, verdict: array, rev: int}|null The service's answer for the comment being saved. */
	private static $submitted = null;
	/** @var int|string|null WordPress's own status for a comment the service could not take now. */
	private static $unsent = null;
	/** @var string|null The Idempotency-Key of the comment being saved. */
	private static $key = null;
	/** @var array|null What was sent besides the comment's fields (context()). */
	private static $context = null;
	/** True while a webhook changes a status, so that change is not sent back as a decision. */
	private static $applying = false;
	/** @var array<int, string> Statuses to set once the wp-admin request is done (see transition()). */
	private static $follow_ups = array();

	public static function boot() {
		add_filter( 'pre_comment_approved', array( __CLASS__, 'check' ), 99, 2 );
		add_action( 'comment_post', array( __CLASS__, 'stored' ), 10, 3 );
		add_action( 'shutdown', array( __CLASS__, 'shutdown' ) );
		add_action( 'transition_comment_status', array( __CLASS__, 'transition' ), 10, 3 );
		add_action( 'rest_api_init', array( __CLASS__, 'routes' ) );
		add_action( self::RETRY_HOOK, array( __CLASS__, 'retry' ) );
		if ( is_admin() ) {
			add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
			add_action( 'admin_init', array( __CLASS__, 'register_settings' ) );
			add_action( 'admin_post_moderation_service_test', array( __CLASS__, 'test_connection' ) );
			add_filter( 'manage_edit-comments_columns', array( __CLASS__, 'columns' ) );
			add_action( 'manage_comments_custom_column', array( __CLASS__, 'column' ), 10, 2 );
			add_action( 'admin_notices', array( __CLASS__, 'notices' ) );
		}
	}

	// ------------------------------------------------------------------ settings

	public static function setting( $name ) {
		$constant = self::FIELDS[ $name ];
		if ( defined( $constant ) ) {
			return (string) constant( $constant );
		}
		$options = get_option( self::OPTION, array() );
		return is_array( $options ) && isset( $options[ $name ] ) ? (string) $options[ $name ] : '';
	}

	private static function base_url() {
		return untrailingslashit( self::setting( 'url' ) );
	}

	// ------------------------------------------------------------------ comment → service

	/**
	 * Runs inside wp_allow_comment(), after WordPress refused duplicates and floods (a refused
	 * comment never reaches the service) and after its own discussion settings set $approved.
	 * The stricter of WordPress's status and the service's wins.
	 */
	public static function check( $approved, $commentdata ) {
		self::$submitted = null;
		self::$unsent    = null;
		self::$key       = null;
		self::$context   = null;
		if ( is_wp_error( $approved ) || '' === self::setting( 'url' ) || '' === self::setting( 'api_key' ) ) {
			return $approved;
		}
		// WordPress's disallowed words already made it spam/trash; its moderators' own comments
		// are not moderated. Neither is sent.
		if ( 'spam' === $approved || 'trash' === $approved ) {
			return $approved;
		}
		if ( ! empty( $commentdata['user_id'] ) && user_can( (int) $commentdata['user_id'], 'moderate_comments' ) ) {
			return $approved;
		}
		$type = isset( $commentdata['comment_type'] ) ? $commentdata['comment_type'] : 'comment';
		if ( '' !== $type && 'comment' !== $type ) {
			return $approved; // pingbacks and trackbacks
		}
		$comment = wp_unslash( $commentdata );
		// Derived before the first request from what WordPress will store, and kept with the
		// comment (stored()): a retry after a lost answer is the same submission to the service.
		self::$key     = self::idempotency_key( $comment );
		self::$context = self::context( $comment );
		$response      = self::submit( $comment, self::$key, self::$context );
		$code      = $response['code'];
		if ( $code >= 200 && $code < 300 && isset( $response['json']['id'], $response['json']['status'] ) ) {
			self::$submitted = self::answer_record( $response['json'] );
		} elseif ( 409 === $code && isset( $response['json']['duplicate_of'] ) && is_string( $response['json']['duplicate_of'] ) ) {
			// The service has this comment already (an earlier attempt whose answer was lost, or
			// the same text posted again): link to that record and take its status now.
			$existing = self::fetch( $response['json']['duplicate_of'] );
			if ( null === $existing ) {
				self::$unsent = $approved; // linked by the retry, once the service answers
				return 0;
			}
			self::$submitted = $existing;
		} elseif ( self::retryable( $response ) ) {
			self::$unsent = $approved;
			return 0;
		} else {
			// 429 (its flood rule) or 400: nothing stored there; WordPress's moderators decide.
			return 0;
		}
		switch ( self::$submitted['status'] ) {
			case 'spam':
				return 'spam';
			case 'rejected':
				return 'trash';
			case 'pending':
				return 0;
			default: // approved: WordPress's own hold (manual approval, links …) still applies.
				return $approved;
		}
	}

	/** One comment, one key: a digest of the fields WordPress stores for it. */
	private static function idempotency_key( $c ) {
		$parts = array(
			home_url( '/' ),
			isset( $c['comment_post_ID'] ) ? (string) $c['comment_post_ID'] : '',
			isset( $c['comment_author_email'] ) ? (string) $c['comment_author_email'] : '',
			isset( $c['comment_author'] ) ? (string) $c['comment_author'] : '',
			isset( $c['comment_date_gmt'] ) ? (string) $c['comment_date_gmt'] : '',
			isset( $c['comment_author_IP'] ) ? (string) $c['comment_author_IP'] : '',
			isset( $c['comment_agent'] ) ? (string) $c['comment_agent'] : '',
			isset( $c['comment_content'] ) ? (string) $c['comment_content'] : '',
		);
		return 'wp-' . substr( hash( 'sha256', implode( "\n", $parts ) ), 0, 48 );
	}

	private static function submit( $comment, $key, $context ) {
		return self::request(
			'POST',
			'/v1/comments',
			self::setting( 'api_key' ),
			self::comment_payload( $comment, $context ),
			array( 'Idempotency-Key' => $key ),
			(int) apply_filters( 'moderation_service_submit_timeout', self::SUBMIT_TIMEOUT )
		);
	}

	/** The answer to a submission (a Verdict) as what this plugin keeps. */
	private static function answer_record( $verdict ) {
		$reasons = array();
		if ( isset( $verdict['reasons'] ) && is_array( $verdict['reasons'] ) ) {
			foreach ( array_slice( $verdict['reasons'], 0, self::SHOWN_REASONS ) as $reason ) {
				if ( is_array( $reason ) && isset( $reason['code'] ) ) {
					$reasons[] = array(
						'code'    => (string) $reason['code'],
						'message' => isset( $reason['message'] ) ? (string) $reason['message'] : '',
					);
				}
			}
		}
		$decision = isset( $verdict['decision'] ) && is_array( $verdict['decision'] ) ? $verdict['decision'] : array();
		return array(
			'id'      => (string) $verdict['id'],
			'status'  => (string) $verdict['status'],
			'rev'     => isset( $verdict['revision'] ) ? (int) $verdict['revision'] : 0,
			'verdict' => array(
				'status'     => (string) $verdict['status'],
				'spam_score' => isset( $verdict['spam_score'] ) ? (float) $verdict['spam_score'] : null,
				'reasons'    => $reasons,
				'by'         => isset( $decision['by'] ) ? (string) $decision['by'] : 'auto',
			),
		);
	}

	/** The service's record of a comment now (GET /v1/comments/{id}), or null. */
	private static function fetch( $service_id ) {
		$response = self::request( 'GET', '/v1/comments/' . rawurlencode( $service_id ), self::setting( 'api_key' ), null, array(), self::SUBMIT_TIMEOUT );
		if ( 200 !== $response['code'] || ! isset( $response['json']['id'], $response['json']['status'] ) ) {
			return null;
		}
		return self::answer_record( $response['json'] );
	}

	private static function comment_payload( $c, $context = null ) {
		$payload = array(
			'post_id'      => (string) $c['comment_post_ID'],
			'author_name'  => (string) $c['comment_author'],
			'author_email' => (string) $c['comment_author_email'],
			'content'      => (string) $c['comment_content'],
		);
		$optional = array_merge(
			array(
				'author_url' => isset( $c['comment_author_url'] ) ? (string) $c['comment_author_url'] : '',
				'user_ip'    => isset( $c['comment_author_IP'] ) ? (string) $c['comment_author_IP'] : '',
				'user_agent' => isset( $c['comment_agent'] ) ? (string) $c['comment_agent'] : '',
			),
			is_array( $context ) ? $context : self::context( $c )
		);
		foreach ( $optional as $name => $value ) {
			if ( is_string( $value ) && '' !== $value ) {
				$payload[ $name ] = $value;
			}
		}
		return $payload;
	}

	/**
	 * What a submission says beside the comment's own fields: the post's address and title, the
	 * parent's id in the service, the site's language. Kept with the comment (META_CONTEXT), so
	 * a retry sends the very body of the first attempt even if the post was renamed meanwhile
	 * (the service answers a key reused with another body with 422).
	 */
	private static function context( $c ) {
		$post_id = (int) $c['comment_post_ID'];
		return array(
			'post_url'   => (string) get_permalink( $post_id ),
			'post_title' => self::post_title( $post_id ),
			'parent_id'  => ! empty( $c['comment_parent'] ) ? self::service_id( (int) $c['comment_parent'] ) : '',
			'lang'       => self::language( get_locale() ),
		);
	}

	/** The site's locale as the service's language: vi, en, or nothing (the service detects it). */
	public static function language( $locale ) {
		$lang = strtolower( strtok( (string) $locale, '_-' ) );
		return in_array( $lang, array( 'vi', 'en' ), true ) ? $lang : '';
	}

	/** The post's title as plain text (no markup, no entities), within the service's limit. */
	private static function post_title( $post_id ) {
		$raw   = (string) get_post_field( 'post_title', $post_id, 'raw' );
		$title = trim( html_entity_decode( wp_strip_all_tags( $raw ), ENT_QUOTES | ENT_HTML5, 'UTF-8' ) );
		return mb_substr( $title, 0, self::MAX_TITLE_CHARS, 'UTF-8' );
	}

	private static function service_id( $comment_id ) {
		return (string) get_comment_meta( $comment_id, self::META_ID, true );
	}

	/** WordPress stored the comment: keep its key, and the service's id for webhooks and decisions. */
	public static function stored( $comment_id, $approved, $commentdata ) {
		if ( null !== self::$key ) {
			add_comment_meta( $comment_id, self::META_KEY, self::$key, true );
			add_comment_meta( $comment_id, self::META_CONTEXT, wp_json_encode( self::$context ), true );
			self::$key     = null;
			self::$context = null;
		}
		if ( null !== self::$unsent ) {
			add_comment_meta( $comment_id, self::META_UNSENT, (string) self::$unsent, true );
			self::$unsent = null;
			self::schedule_retry();
		}
		if ( null === self::$submitted ) {
			return;
		}
		self::link( $comment_id, self::$submitted );
		self::$submitted = null;
	}

	private static function link( $comment_id, $record ) {
		add_comment_meta( $comment_id, self::META_ID, $record['id'], true );
		update_comment_meta( $comment_id, self::META_VERDICT, wp_json_encode( $record['verdict'] ) );
		self::remember_revision( $comment_id, $record['rev'] );
	}

	/**
	 * The service answered but WordPress did not store the comment (a later filter refused it,
	 * or the insert failed): make it rejected there too, so it is not published on the
	 * service's side. Runs on `shutdown`, which wp_die() reaches as well.
	 */
	public static function shutdown() {
		self::report_refused();
		self::apply_follow_ups();
	}

	private static function report_refused() {
		if ( null === self::$submitted ) {
			return;
		}
		$refused         = self::$submitted;
		self::$submitted = null;
		set_transient( 'moderation_refused_' . md5( $refused['id'] ), 1, self::REFUSED_TTL );
		self::decide( $refused['id'], 'reject', 'WordPress did not store this comment', 'other' );
	}

	/**
	 * Status changes that make WordPress show what the service recorded, done after the wp-admin
	 * action finished (changing a status from inside its own transition hook would interleave
	 * with WordPress's bookkeeping for the first change).
	 */
	private static function apply_follow_ups() {
		$follow_ups       = self::$follow_ups;
		self::$follow_ups = array();
		foreach ( $follow_ups as $comment_id => $verb ) {
			self::set_status( $comment_id, $verb );
		}
	}

	private static function set_status( $comment_id, $verb ) {
		self::$applying = true;
		try {
			return wp_set_comment_status( $comment_id, $verb );
		} finally {
			self::$applying = false;
		}
	}

	/**
	 * Unreachable, unavailable, a key being fixed or a request budget spent: worth sending
	 * again. Refusals are not, the service's flood rule (429 with code "flood") included.
	 */
	private static function retryable( $response ) {
		$code = $response['code'];
		if ( 429 === $code ) {
			return ! ( is_array( $response['json'] ) && isset( $response['json']['code'] ) && 'flood' === $response['json']['code'] );
		}
		return 0 === $code || 401 === $code || 403 === $code || 408 === $code || $code >= 500;
	}

	private static function schedule_retry() {
		if ( ! wp_next_scheduled( self::RETRY_HOOK ) ) {
			wp_schedule_single_event( time() + (int) apply_filters( 'moderation_service_retry_delay', self::RETRY_DELAY ), self::RETRY_HOOK );
		}
	}

	/** WP-Cron: comments the service could not take when posted, then queued decisions, in order. */
	public static function retry() {
		$left = self::retry_unsent();
		$left = self::flush_outbox( null ) || $left;
		if ( $left ) {
			self::schedule_retry();
		}
	}

	/**
	 * Send the comments the service could not take when they were posted. A comment still held
	 * gets the status it would have had (the stricter of WordPress's and the service's); one a
	 * moderator already decided in wp-admin sends that decision too. True if some are left.
	 */
	private static function retry_unsent() {
		$ids = get_comments(
			array(
				'meta_key' => self::META_UNSENT,
				'status'   => 'any',
				'fields'   => 'ids',
				'number'   => self::RETRY_BATCH,
				'orderby'  => 'comment_ID',
				'order'    => 'ASC',
			)
		);
		foreach ( $ids as $comment_id ) {
			$comment = get_comment( (int) $comment_id );
			if ( ! $comment ) {
				continue;
			}
			$key     = (string) get_comment_meta( $comment->comment_ID, self::META_KEY, true );
			$context = json_decode( (string) get_comment_meta( $comment->comment_ID, self::META_CONTEXT, true ), true );
			if ( '' === $key ) {
				// Posted before keys were kept: the key this plugin's retries always used.
				$key = 'wp-' . md5( home_url() ) . '-' . $comment->comment_ID;
			}
			$response = self::submit( (array) $comment->to_array(), $key, is_array( $context ) ? $context : null );
			$code     = $response['code'];
			$record   = null;
			if ( $code >= 200 && $code < 300 && isset( $response['json']['id'], $response['json']['status'] ) ) {
				$record = self::answer_record( $response['json'] );
			} elseif ( 409 === $code && isset( $response['json']['duplicate_of'] ) && is_string( $response['json']['duplicate_of'] ) ) {
				$record = self::fetch( $response['json']['duplicate_of'] );
				if ( null === $record ) {
					return true; // its status could not be read: the next run links it
				}
			} elseif ( self::retryable( $response ) ) {
				return true; // still down: the rest waits for the next run
			} else {
				delete_comment_meta( $comment->comment_ID, self::META_UNSENT );
				update_comment_meta( $comment->comment_ID, self::META_SYNC, 'the service refused it (HTTP ' . $code . ')' );
				continue;
			}
			self::sent_late( $comment, $record );
		}
		return count( $ids ) === self::RETRY_BATCH;
	}

	private static function sent_late( $comment, $record ) {
		$comment_id = (int) $comment->comment_ID;
		$own        = (string) get_comment_meta( $comment_id, self::META_UNSENT, true );
		self::link( $comment_id, $record );
		delete_comment_meta( $comment_id, self::META_UNSENT );
		delete_comment_meta( $comment_id, self::META_SYNC );
		$status  = $record['status'];
		$current = wp_get_comment_status( $comment_id );
		if ( 'unapproved' === $current ) {
			$verbs = array( 'spam' => 'spam', 'rejected' => 'trash', 'approved' => '1' === $own ? 'approve' : null );
			if ( isset( $verbs[ $status ] ) ) {
				self::set_status( $comment_id, $verbs[ $status ] );
			}
			return;
		}
		// Decided in wp-admin before the service had the comment: that decision goes too.
		$decisions = array( 'approved' => 'approve', 'spam' => 'spam', 'trash' => 'reject' );
		if ( isset( $decisions[ $current ] ) && self::DECISION_STATUS[ $decisions[ $current ] ] !== $status ) {
			self::enqueue( $comment_id, $decisions[ $current ], 'wp-admin, before the service had the comment' );
			self::flush_outbox( $comment_id );
		}
	}

	// ------------------------------------------------------------------ wp-admin → service

	public static function transition( $new_status, $old_status, $comment ) {
		if ( self::$applying || $new_status === $old_status ) {
			return;
		}
		$comment_id = (int) $comment->comment_ID;
		if ( '' === self::service_id( $comment_id ) ) {
			return; // not sent yet: sent_late() carries the decision
		}
		$decision = null;
		if ( 'approved' === $new_status ) {
			$decision = 'approve';
		} elseif ( 'spam' === $new_status ) {
			$decision = 'spam';
		} elseif ( 'trash' === $new_status ) {
			$decision = 'reject';
		} elseif ( 'unapproved' === $new_status && 'spam' === $old_status ) {
			// "Not spam" of a comment filed as spam when posted: the service has no "pending"
			// decision; it approves, and so does WordPress once this request is done.
			$decision = 'approve';
			self::$follow_ups[ $comment_id ] = 'approve';
		}
		if ( null === $decision ) {
			return; // unapprove, restore from trash, delete: nothing the service can record
		}
		$user = wp_get_current_user();
		self::enqueue( $comment_id, $decision, 'wp-admin' . ( $user && $user->exists() ? ': ' . $user->user_login : '' ) );
		if ( self::flush_outbox( $comment_id ) ) {
			self::schedule_retry();
		}
	}

	/** Queue a decision first (it survives an unreachable service), then try to send it. */
	private static function enqueue( $comment_id, $decision, $note ) {
		$entry = array(
			'decision' => $decision,
			'note'     => $note,
			'reason'   => 'reject' === $decision ? 'other' : null,
			'at'       => time(),
		);
		add_comment_meta( $comment_id, self::META_OUTBOX, wp_json_encode( $entry ) );
	}

	/**
	 * Send queued decisions, oldest first: one comment's (a wp-admin click), or everyone's
	 * (WP-Cron). A comment's decisions go in the order they were made; a decision the service
	 * cannot take now stops its comment's queue. True if decisions are left to send.
	 */
	private static function flush_outbox( $only ) {
		global $wpdb;
		$sql = "SELECT meta_id, comment_id, meta_value FROM {$wpdb->commentmeta} WHERE meta_key = %s";
		$sql = null === $only
			? $wpdb->prepare( $sql . ' ORDER BY meta_id ASC LIMIT %d', self::META_OUTBOX, self::RETRY_BATCH )
			: $wpdb->prepare( $sql . ' AND comment_id = %d ORDER BY meta_id ASC', self::META_OUTBOX, (int) $only );
		$rows    = $wpdb->get_results( $sql );
		$blocked = array();
		$left    = false;
		foreach ( (array) $rows as $row ) {
			$comment_id = (int) $row->comment_id;
			if ( isset( $blocked[ $comment_id ] ) ) {
				$left = true;
				continue;
			}
			if ( ! self::lock( $comment_id ) ) {
				$blocked[ $comment_id ] = true; // another request is sending this comment's queue
				$left                   = true;
				continue;
			}
			try {
				$sent = self::send_queued( $comment_id, (int) $row->meta_id, json_decode( $row->meta_value, true ) );
			} finally {
				self::unlock( $comment_id );
			}
			if ( ! $sent ) {
				$blocked[ $comment_id ] = true;
				$left                   = true;
			}
		}
		return $left || ( null === $only && count( (array) $rows ) === self::RETRY_BATCH );
	}

	/** One queued decision: true when it is settled (recorded, or dropped with a note). */
	private static function send_queued( $comment_id, $meta_id, $entry ) {
		$service_id = self::service_id( $comment_id );
		if ( '' === $service_id || ! is_array( $entry ) || ! isset( self::DECISION_STATUS[ $entry['decision'] ] ) ) {
			delete_metadata_by_mid( 'comment', $meta_id );
			return true;
		}
		$note     = (string) $entry['note'];
		$waited   = time() - (int) $entry['at'];
		if ( $waited > 60 ) {
			$note .= ' (decided ' . gmdate( 'Y-m-d H:i', (int) $entry['at'] ) . ' UTC, sent later)';
		}
		$response = self::decide( $service_id, $entry['decision'], $note, isset( $entry['reason'] ) ? $entry['reason'] : null );
		$code     = $response['code'];
		if ( 200 === $code && isset( $response['json']['status'] ) ) {
			// The revision first, then the queue entry: a webhook in between sees one or the other.
			self::remember_revision( $comment_id, isset( $response['json']['revision'] ) ? (int) $response['json']['revision'] : 0 );
			self::remember_verdict( $comment_id, (string) $response['json']['status'], self::decided_by( $response['json'] ) );
			delete_metadata_by_mid( 'comment', $meta_id );
			delete_comment_meta( $comment_id, self::META_SYNC );
			update_comment_meta( $comment_id, self::META_SYNCED, (string) time() );
			return true;
		}
		if ( self::retryable( $response ) || ( 409 === $code && isset( $response['json']['claimed_by'] ) ) ) {
			// Down, or a moderator of the service holds the comment for a few minutes: later.
			$why = 409 === $code ? 'a moderator of the service is reviewing it' : self::failure( $response );
			update_comment_meta( $comment_id, self::META_SYNC, 'waiting to send ' . $entry['decision'] . ' to the service: ' . $why );
			return false;
		}
		// Refused for good (the comment left the service, say): show what the service has.
		delete_metadata_by_mid( 'comment', $meta_id );
		update_comment_meta( $comment_id, self::META_SYNC, 'the service did not record ' . $entry['decision'] . ' (' . self::failure( $response ) . ')' );
		$record = self::fetch( $service_id );
		if ( null !== $record ) {
			self::apply_status( $comment_id, $record['status'], $record['rev'] );
		}
		return true;
	}

	private static function lock( $comment_id ) {
		$name = 'moderation_outbox_lock_' . $comment_id;
		// add_option inserts a unique row: one request holds it. A holder that died leaves a
		// lock older than a request can run; it is taken over.
		if ( add_option( $name, (string) time(), '', 'no' ) ) {
			return true;
		}
		if ( (int) get_option( $name ) < time() - 2 * self::DECIDE_TIMEOUT ) {
			delete_option( $name );
			return add_option( $name, (string) time(), '', 'no' );
		}
		return false;
	}

	private static function unlock( $comment_id ) {
		delete_option( 'moderation_outbox_lock_' . $comment_id );
	}

	private static function decided_by( $view ) {
		return isset( $view['decision']['by'] ) ? (string) $view['decision']['by'] : '';
	}

	/** @return array{code: int, json: mixed, error: string} */
	private static function decide( $service_id, $decision, $note, $reason ) {
		$token = self::setting( 'moderator_token' );
		if ( '' === $token || '' === self::setting( 'url' ) ) {
			return array( 'code' => 0, 'json' => null, 'error' => 'no moderator token' );
		}
		$body = array( 'decision' => $decision, 'note' => $note );
		if ( null !== $reason ) {
			$body['reason'] = $reason;
		}
		if ( '' !== self::setting( 'site' ) ) {
			$body['site'] = self::setting( 'site' );
		}
		return self::request( 'POST', '/v1/review/' . rawurlencode( $service_id ) . '/decision', $token, $body, array(), self::DECIDE_TIMEOUT );
	}

	private static function remember_revision( $comment_id, $rev ) {
		$known = get_comment_meta( $comment_id, self::META_REV, true );
		if ( '' === $known || $rev > (int) $known ) {
			update_comment_meta( $comment_id, self::META_REV, (string) $rev );
		}
	}

	private static function remember_verdict( $comment_id, $status, $by ) {
		$verdict = json_decode( (string) get_comment_meta( $comment_id, self::META_VERDICT, true ), true );
		$verdict = is_array( $verdict ) ? $verdict : array( 'reasons' => array(), 'spam_score' => null );
		$verdict['status'] = $status;
		if ( '' !== $by ) {
			$verdict['by'] = $by;
		}
		update_comment_meta( $comment_id, self::META_VERDICT, wp_json_encode( $verdict ) );
	}

	/** Make WordPress show the service's status (not sent back: it is the service's already). */
	private static function apply_status( $comment_id, $status, $rev ) {
		self::remember_revision( $comment_id, $rev );
		self::remember_verdict( $comment_id, $status, '' );
		$verb = array_search( $status, self::EVENT_VERB_STATUS, true );
		if ( false !== $verb && self::VERB_WP_STATUS[ $verb ] !== wp_get_comment_status( $comment_id ) ) {
			self::set_status( $comment_id, $verb );
		}
	}

	/** The service's timestamps ("2026-11-26T03:20:00.000Z") as Unix milliseconds. */
	private static function iso_ms( $iso ) {
		if ( ! preg_match( '/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/', $iso, $m ) ) {
			return null;
		}
		$seconds = strtotime( $m[1] . 'Z' );
		if ( false === $seconds ) {
			return null;
		}
		$millis = isset( $m[2] ) ? (int) substr( str_pad( $m[2], 3, '0' ), 0, 3 ) : 0;
		return $seconds * 1000 + $millis;
	}

	// ------------------------------------------------------------------ service → WordPress

	public static function routes() {
		register_rest_route(
			'moderation/v1',
			'/events',
			array(
				'methods'             => 'POST',
				'callback'            => array( __CLASS__, 'receive' ),
				// The HMAC signature is the authentication: the service is not a WordPress user.
				'permission_callback' => '__return_true',
			)
		);
	}

	/** Verify `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` against our clock. */
	public static function verify( $secret, $header, $body, $now ) {
		$stamps = array();
		$macs   = array();
		foreach ( explode( ',', (string) $header ) as $part ) {
			$pair = explode( '=', trim( $part ), 2 );
			if ( 2 !== count( $pair ) ) {
				continue;
			}
			if ( 't' === $pair[0] ) {
				$stamps[] = $pair[1];
			} elseif ( 'v1' === $pair[0] ) {
				$macs[] = $pair[1];
			}
		}
		if ( 1 !== count( $stamps ) || ! ctype_digit( $stamps[0] ) || abs( $now - (int) $stamps[0] ) > self::SIGNATURE_TOLERANCE ) {
			return false;
		}
		$expected = hash_hmac( 'sha256', $stamps[0] . '.' . $body, $secret );
		foreach ( $macs as $mac ) {
			if ( hash_equals( $expected, $mac ) ) {
				return true;
			}
		}
		return false;
	}

	public static function receive( WP_REST_Request $request ) {
		$secret = self::setting( 'webhook_secret' );
		if ( '' === $secret ) {
			return self::answer( 503, 'not_configured', 'no webhook secret is set' );
		}
		$body = $request->get_body();
		if ( ! self::verify( $secret, $request->get_header( 'x_moderation_signature' ), $body, time() ) ) {
			return self::answer( 401, 'bad_signature', 'missing, wrong or expired X-Moderation-Signature' );
		}
		$event = json_decode( $body, true );
		if ( is_array( $event ) && isset( $event['type'] ) && 'webhook.test' === $event['type'] ) {
			// "Test the connection" (test_connection) looks for this to know the event arrived.
			if ( isset( $event['nonce'] ) && is_string( $event['nonce'] ) && preg_match( '/^[A-Za-z0-9_-]{1,64}$/', $event['nonce'] ) ) {
				set_transient( 'moderation_service_ping_' . $event['nonce'], time(), 10 * MINUTE_IN_SECONDS );
			}
			return self::answer( 200, 'pong', 'the signature is right' );
		}
		if ( ! is_array( $event ) || ! isset( $event['type'], $event['comment']['id'] ) || ! is_string( $event['comment']['id'] ) ) {
			return self::answer( 400, 'bad_event', 'the body is not a moderation event' );
		}
		if ( ! isset( self::EVENT_STATUS[ $event['type'] ] ) ) {
			return self::answer( 200, 'ignored', 'unknown event type' );
		}
		// Automatic verdicts were in the answer to the submission and are applied already
		// (possibly made stricter by WordPress's own settings); re-applying would undo that.
		$by = isset( $event['decision']['by'] ) ? (string) $event['decision']['by'] : '';
		if ( 'auto' === $by ) {
			return self::answer( 200, 'ignored', 'automatic verdict, applied when the comment was posted' );
		}
		$service_id = $event['comment']['id'];
		$found      = get_comments(
			array(
				'meta_key'   => self::META_ID,
				'meta_value' => $service_id,
				'status'     => 'any',
				'fields'     => 'ids',
				// Two WordPress comments share a record when the service found the second a
				// duplicate of the first (check()); both follow it.
				'number'     => 10,
			)
		);
		if ( empty( $found ) ) {
			if ( get_transient( 'moderation_refused_' . md5( $service_id ) ) ) {
				return self::answer( 200, 'ignored', 'WordPress refused this comment' );
			}
			// Perhaps not stored yet, or deleted here: the service retries, then keeps a dead letter.
			return self::answer( 404, 'unknown_comment', 'no comment with this moderation id' );
		}
		$answer = null;
		foreach ( $found as $comment_id ) {
			$result = self::apply_event( (int) $comment_id, $event, $by );
			// The answer that asks for a retry (deferred, not applied) wins over the others.
			if ( null === $answer || $result->get_status() > $answer->get_status() ) {
				$answer = $result;
			}
		}
		return $answer;
	}

	private static function apply_event( $comment_id, $event, $by ) {
		if ( '' !== (string) get_comment_meta( $comment_id, self::META_OUTBOX, true ) ) {
			// A decision made here is on its way to the service and will supersede this one;
			// the service sends this event again later, when it is stale (or, if ours was
			// refused, still the latest) here.
			return new WP_REST_Response(
				array( 'result' => 'deferred', 'message' => 'a decision made in wp-admin is waiting to be sent' ),
				503,
				array( 'Retry-After' => '10' )
			);
		}
		$verb     = self::EVENT_STATUS[ $event['type'] ];
		$revision = isset( $event['revision'] ) && is_int( $event['revision'] ) ? $event['revision'] : null;
		$event_at = null;
		if ( null !== $revision ) {
			$known = get_comment_meta( $comment_id, self::META_REV, true );
			if ( '' !== $known && $revision <= (int) $known ) {
				return self::answer( 200, 'stale', 'revision ' . $revision . ' is not newer than ' . $known );
			}
		} else {
			// An older service, without revisions: its own clock orders decisions.
			$event_at = isset( $event['created_at'] ) ? self::iso_ms( (string) $event['created_at'] ) : null;
			if ( null !== $event_at && $event_at < (int) get_comment_meta( $comment_id, self::META_DECIDED_AT, true ) ) {
				return self::answer( 200, 'stale', 'a newer decision was applied already' );
			}
		}
		$current = wp_get_comment_status( $comment_id );
		if ( self::VERB_WP_STATUS[ $verb ] === $current ) {
			$result = self::answer( 200, 'unchanged', $current );
		} elseif ( self::set_status( $comment_id, $verb ) ) {
			$result = self::answer( 200, 'applied', wp_get_comment_status( $comment_id ) );
		} else {
			return self::answer( 500, 'not_applied', 'WordPress did not change the status' );
		}
		if ( null !== $revision ) {
			self::remember_revision( $comment_id, $revision );
		} elseif ( null !== $event_at ) {
			update_comment_meta( $comment_id, self::META_DECIDED_AT, (string) $event_at );
		}
		self::remember_verdict( $comment_id, self::EVENT_VERB_STATUS[ $verb ], $by );
		delete_comment_meta( $comment_id, self::META_SYNC );
		return $result;
	}

	private static function answer( $status, $code, $message ) {
		return new WP_REST_Response( array( 'result' => $code, 'message' => $message ), $status );
	}

	// ------------------------------------------------------------------ HTTP

	/** @return array{code: int, json: mixed, error: string} */
	private static function request( $method, $path, $token, $body, $headers, $timeout ) {
		$args     = array(
			'method'      => $method,
			'timeout'     => $timeout,
			'redirection' => 0,
			'headers'     => array_merge(
				array(
					'Authorization' => 'Bearer ' . $token,
					'Accept'        => 'application/json',
				),
				null === $body ? array() : array( 'Content-Type' => 'application/json; charset=utf-8' ),
				$headers
			),
		);
		if ( null !== $body ) {
			$args['body'] = wp_json_encode( $body );
		}
		// wp_remote_request, not wp_safe_remote_request: the service is the operator's own host,
		// often on a private address, which the "safe" variant refuses.
		$response = wp_remote_request( self::base_url() . $path, $args );
		if ( is_wp_error( $response ) ) {
			return array( 'code' => 0, 'json' => null, 'error' => $response->get_error_message() );
		}
		return array(
			'code'  => (int) wp_remote_retrieve_response_code( $response ),
			'json'  => json_decode( wp_remote_retrieve_body( $response ), true ),
			'error' => '',
		);
	}

	// ------------------------------------------------------------------ the comment list

	public static function columns( $columns ) {
		$columns['moderation'] = 'Moderation service';
		return $columns;
	}

	/** Status, score and reasons in the service, and whether WordPress is in step with it. */
	public static function column( $column, $comment_id ) {
		if ( 'moderation' !== $column ) {
			return;
		}
		$verdict = json_decode( (string) get_comment_meta( $comment_id, self::META_VERDICT, true ), true );
		echo '<div class="moderation-service" id="moderation-service-' . (int) $comment_id . '">';
		if ( is_array( $verdict ) && isset( $verdict['status'] ) ) {
			$line = (string) $verdict['status'];
			if ( isset( $verdict['spam_score'] ) && null !== $verdict['spam_score'] ) {
				$line .= ' · spam ' . number_format( (float) $verdict['spam_score'], 2 );
			}
			if ( ! empty( $verdict['by'] ) && 'auto' !== $verdict['by'] ) {
				$line .= ' · by ' . $verdict['by'];
			}
			echo '<p class="moderation-status"><strong>' . esc_html( $line ) . '</strong></p>';
			if ( ! empty( $verdict['reasons'] ) && is_array( $verdict['reasons'] ) ) {
				echo '<ul class="moderation-reasons">';
				foreach ( $verdict['reasons'] as $reason ) {
					$text = '' !== (string) $reason['message'] ? $reason['message'] : $reason['code'];
					echo '<li data-code="' . esc_attr( (string) $reason['code'] ) . '">' . esc_html( (string) $text ) . '</li>';
				}
				echo '</ul>';
			}
		} elseif ( '' === self::service_id( $comment_id ) && '' === (string) get_comment_meta( $comment_id, self::META_UNSENT, true ) ) {
			echo '<p class="moderation-status">not sent</p>';
		}
		$sync = self::sync_state( $comment_id );
		if ( null !== $sync ) {
			printf( '<p class="moderation-sync moderation-sync-%s">%s</p>', esc_attr( $sync[0] ), esc_html( $sync[1] ) );
		}
		echo '</div>';
	}

	/** @return array{0: string, 1: string}|null (state, words): waiting, error or synced. */
	private static function sync_state( $comment_id ) {
		$queued = count( (array) get_comment_meta( $comment_id, self::META_OUTBOX ) );
		$note   = (string) get_comment_meta( $comment_id, self::META_SYNC, true );
		if ( '' !== (string) get_comment_meta( $comment_id, self::META_UNSENT, true ) ) {
			return array( 'waiting', 'not sent to the service yet: WP-Cron sends it when the service answers' );
		}
		if ( $queued > 0 ) {
			return array( 'waiting', sprintf( '%d decision(s) waiting to be sent%s', $queued, '' !== $note ? ' — ' . $note : '' ) );
		}
		if ( '' !== $note ) {
			return array( 'error', $note );
		}
		$synced = (int) get_comment_meta( $comment_id, self::META_SYNCED, true );
		if ( $synced > 0 ) {
			return array( 'synced', 'synced ' . get_date_from_gmt( gmdate( 'Y-m-d H:i:s', $synced ), 'Y-m-d H:i' ) );
		}
		return null;
	}

	/** Comments list and dashboard: how many comments are not in step with the service. */
	public static function notices() {
		$screen = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
		if ( ! $screen || ! in_array( $screen->id, array( 'edit-comments', 'dashboard' ), true ) || ! current_user_can( 'moderate_comments' ) ) {
			return;
		}
		$count  = function ( $meta_query ) {
			return count(
				get_comments(
					array(
						'meta_query' => $meta_query,
						'status'     => 'any',
						'fields'     => 'ids',
						'number'     => 1000,
					)
				)
			);
		};
		$unsent = $count( array( array( 'key' => self::META_UNSENT, 'compare' => 'EXISTS' ) ) );
		$queued = $count( array( array( 'key' => self::META_OUTBOX, 'compare' => 'EXISTS' ) ) );
		$failed = $count(
			array(
				'relation' => 'AND',
				array( 'key' => self::META_SYNC, 'compare' => 'EXISTS' ),
				array( 'key' => self::META_OUTBOX, 'compare' => 'NOT EXISTS' ),
			)
		);
		$parts = array();
		if ( $unsent > 0 ) {
			$parts[] = sprintf( '%d comment(s) not sent yet', $unsent );
		}
		if ( $queued > 0 ) {
			$parts[] = sprintf( '%d comment(s) with decisions waiting to be sent', $queued );
		}
		if ( $failed > 0 ) {
			$parts[] = sprintf( '%d comment(s) that failed to sync (the column "Moderation service" says why)', $failed );
		}
		if ( empty( $parts ) ) {
			return;
		}
		echo '<div class="notice notice-warning" id="moderation-service-sync"><p>Moderation service: '
			. esc_html( implode( '; ', $parts ) ) . '. WP-Cron sends what is waiting when the service answers.</p></div>';
	}

	// ------------------------------------------------------------------ admin screen

	public static function menu() {
		add_options_page( 'Moderation service', 'Moderation service', 'manage_options', 'moderation-service', array( __CLASS__, 'page' ) );
	}

	public static function register_settings() {
		register_setting(
			'moderation_service',
			self::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( __CLASS__, 'sanitize' ),
				'default'           => array(),
			)
		);
	}

	/** A blank secret field keeps the stored secret: the form never shows secrets. */
	public static function sanitize( $input ) {
		$old = get_option( self::OPTION, array() );
		$old = is_array( $old ) ? $old : array();
		$out = array();
		foreach ( array_keys( self::FIELDS ) as $name ) {
			$value = is_array( $input ) && isset( $input[ $name ] ) ? trim( (string) $input[ $name ] ) : '';
			if ( in_array( $name, self::SECRETS, true ) && '' === $value && isset( $old[ $name ] ) ) {
				$value = $old[ $name ];
			}
			$out[ $name ] = 'url' === $name ? esc_url_raw( $value, array( 'http', 'https' ) ) : sanitize_text_field( $value );
		}
		return $out;
	}

	public static function page() {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$labels = array(
			'url'             => 'Service URL',
			'site'            => 'Site id',
			'api_key'         => 'Site API key',
			'moderator_token' => 'Moderator token',
			'webhook_secret'  => 'Webhook secret',
		);
		$result = get_transient( 'moderation_service_test_' . get_current_user_id() );
		echo '<div class="wrap"><h1>Moderation service</h1>';
		if ( is_array( $result ) ) {
			delete_transient( 'moderation_service_test_' . get_current_user_id() );
			foreach ( $result as $line ) {
				printf(
					'<div class="notice notice-%s"><p id="moderation-test-%s">%s</p></div>',
					$line['ok'] ? 'success' : 'error',
					esc_attr( $line['what'] ),
					esc_html( $line['message'] )
				);
			}
		}
		echo '<form method="post" action="options.php">';
		settings_fields( 'moderation_service' );
		echo '<table class="form-table" role="presentation">';
		foreach ( $labels as $name => $label ) {
			$constant = self::FIELDS[ $name ];
			$secret   = in_array( $name, self::SECRETS, true );
			echo '<tr><th scope="row"><label for="moderation-' . esc_attr( $name ) . '">' . esc_html( $label ) . '</label></th><td>';
			if ( defined( $constant ) ) {
				echo '<code>' . esc_html( $constant ) . '</code> is set in the configuration file.';
			} else {
				printf(
					'<input class="regular-text" type="%s" id="moderation-%s" name="%s[%s]" value="%s" autocomplete="off">',
					$secret ? 'password' : 'text',
					esc_attr( $name ),
					esc_attr( self::OPTION ),
					esc_attr( $name ),
					$secret ? '' : esc_attr( self::setting( $name ) )
				);
				if ( $secret ) {
					echo '<p class="description">' . ( '' !== self::setting( $name ) ? 'Stored; leave blank to keep it.' : 'Not set.' ) . '</p>';
				}
			}
			echo '</td></tr>';
		}
		echo '</table>';
		submit_button();
		echo '</form>';
		echo '<p>Webhook URL to give the service (<code>moderation sites webhook &lt;site&gt; --url …</code>): <code id="moderation-webhook-url">'
			. esc_html( rest_url( 'moderation/v1/events' ) ) . '</code></p>';
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '">';
		echo '<input type="hidden" name="action" value="moderation_service_test">';
		wp_nonce_field( 'moderation_service_test' );
		submit_button( 'Test the connection', 'secondary', 'submit', false );
		echo '</form></div>';
	}

	/**
	 * The test button: the site key against /v1/check (stores nothing), the token against the
	 * queue, and the webhook: the service sends this site a signed test event, which receive()
	 * records under the nonce sent with the request.
	 */
	public static function test_connection() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( 'Sorry, you are not allowed to do that.', 403 );
		}
		check_admin_referer( 'moderation_service_test' );
		$lines = array();
		$key   = self::request(
			'POST',
			'/v1/check',
			self::setting( 'api_key' ),
			array(
				'post_id'      => 'connection-test',
				'author_name'  => 'WordPress',
				'author_email' => 'connection-test@example.com',
				'content'      => 'Connection test from the WordPress settings screen.',
			),
			array(),
			self::SUBMIT_TIMEOUT
		);
		$lines[] = array(
			'what'    => 'key',
			'ok'      => 200 === $key['code'],
			'message' => 200 === $key['code'] ? 'Site API key: accepted.' : 'Site API key: ' . self::failure( $key ),
		);
		if ( '' !== self::setting( 'moderator_token' ) ) {
			$queue   = self::request(
				'GET',
				'/v1/review/queue?limit=1&site=' . rawurlencode( self::setting( 'site' ) ),
				self::setting( 'moderator_token' ),
				null,
				array(),
				self::SUBMIT_TIMEOUT
			);
			$lines[] = array(
				'what'    => 'token',
				'ok'      => 200 === $queue['code'],
				'message' => 200 === $queue['code'] ? 'Moderator token: accepted for this site.' : 'Moderator token: ' . self::failure( $queue ),
			);
		}
		if ( 200 === $key['code'] ) {
			$lines[] = self::test_webhook();
		}
		set_transient( 'moderation_service_test_' . get_current_user_id(), $lines, MINUTE_IN_SECONDS );
		wp_safe_redirect( admin_url( 'options-general.php?page=moderation-service' ) );
		exit;
	}

	private static function test_webhook() {
		$nonce    = wp_generate_password( 32, false, false );
		$response = self::request( 'POST', '/v1/webhooks/test', self::setting( 'api_key' ), array( 'nonce' => $nonce ), array(), self::WEBHOOK_TEST_TIMEOUT );
		$arrived  = false !== get_transient( 'moderation_service_ping_' . $nonce );
		delete_transient( 'moderation_service_ping_' . $nonce );
		$line = array( 'what' => 'webhook', 'ok' => $arrived );
		if ( $arrived ) {
			$line['message'] = 'Webhook: a signed test event from the service arrived here and its signature matched the webhook secret.';
		} elseif ( 409 === $response['code'] ) {
			$line['message'] = 'Webhook: the service has no webhook for this site; give it the webhook URL below.';
		} elseif ( 200 !== $response['code'] ) {
			$line['message'] = 'Webhook: the service could not be asked to send a test event (' . self::failure( $response ) . ').';
		} elseif ( isset( $response['json']['status'] ) && 401 === $response['json']['status'] ) {
			$line['message'] = 'Webhook: the test event reached this site but its signature did not match: the webhook secret here is not the one the service signs with.';
		} elseif ( ! empty( $response['json']['delivered'] ) ) {
			$line['message'] = 'Webhook: the service delivered a test event to ' . (string) $response['json']['url'] . ', but it did not reach this site: is that URL this site\'s?';
		} else {
			$error           = isset( $response['json']['error'] ) ? (string) $response['json']['error'] : 'unknown';
			$line['message'] = 'Webhook: the service could not deliver a test event to ' . ( isset( $response['json']['url'] ) ? (string) $response['json']['url'] : 'this site' ) . ' (' . $error . ').';
		}
		return $line;
	}

	private static function failure( $response ) {
		if ( 0 === $response['code'] ) {
			return 'no answer (' . $response['error'] . ')';
		}
		$detail = is_array( $response['json'] ) && isset( $response['json']['detail'] ) ? ': ' . $response['json']['detail'] : '';
		return 'HTTP ' . $response['code'] . $detail;
	}
}

Moderation_Service::boot();
