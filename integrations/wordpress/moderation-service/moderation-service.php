<?php
/**
 * Plugin Name:       Moderation service
 * Description:       Sends visitors' comments to a self-hosted moderation service and applies its
 *                    moderators' decisions here; decisions made in wp-admin go back to the service.
 * Version:           1.0.0
 * Requires at least: 6.1
 * Requires PHP:      8.0
 * License:           Apache-2.0
 *
 * Both directions, in short (README.md, "WordPress", says why):
 *   comment → service  `pre_comment_approved`, after WordPress's own duplicate and flood checks,
 *                      POST /v1/comments; the answer sets the comment's status. Held and sent
 *                      again by WP-Cron when the service cannot take it.
 *   service → here     POST /wp-json/moderation/v1/events (or ?rest_route=…), a signed webhook:
 *                      approve / spam / trash the comment it names.
 *   wp-admin → service approve, spam, not spam, trash become moderator decisions
 *                      (POST /v1/review/{id}/decision with the moderator token).
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

final class Moderation_Service {
	const OPTION = 'moderation_service';
	// The service's id of a comment; the webhook names comments by it.
	const META_ID = '_moderation_id';
	// The service's time (Unix ms) of the newest decision applied here or made from wp-admin:
	// an older event (a late retry) must not undo it. Only the service's clock is compared.
	const META_DECIDED_AT = '_moderation_decided_at';
	// Why the comment is not (or no longer) in step with the service, for the admin to see.
	const META_SYNC = '_moderation_sync';
	// Not sent yet (the service was down): WordPress's own status at posting, for the retry.
	const META_UNSENT = '_moderation_unsent';
	const RETRY_HOOK = 'moderation_service_retry';
	// Seconds before WP-Cron sends unsent comments again; comments taken per run.
	const RETRY_DELAY = 300;
	const RETRY_BATCH = 50;
	// The webhook signature is refused when its timestamp is further than this from our clock.
	const SIGNATURE_TOLERANCE = 300;
	// Seconds to wait for the service while a visitor waits for the comment form's answer.
	const SUBMIT_TIMEOUT = 5;
	const DECIDE_TIMEOUT = 10;
	// A refused comment's id stays known this long, so its events are acknowledged, not retried.
	const REFUSED_TTL = DAY_IN_SECONDS;
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

	/** @var array{id: string, status: string}|null The service's answer for the comment being saved. */
	private static $submitted = null;
	/** @var int|string|null WordPress's own status for a comment the service could not take now. */
	private static $unsent = null;
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
		add_action( self::RETRY_HOOK, array( __CLASS__, 'retry_unsent' ) );
		if ( is_admin() ) {
			add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
			add_action( 'admin_init', array( __CLASS__, 'register_settings' ) );
			add_action( 'admin_post_moderation_service_test', array( __CLASS__, 'test_connection' ) );
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
		$response = self::request(
			'POST',
			'/v1/comments',
			self::setting( 'api_key' ),
			self::comment_payload( wp_unslash( $commentdata ) ),
			array( 'Idempotency-Key' => 'wp-' . wp_generate_uuid4() ),
			self::SUBMIT_TIMEOUT
		);
		$code = $response['code'];
		if ( $code >= 200 && $code < 300 && isset( $response['json']['id'], $response['json']['status'] ) ) {
			$status          = (string) $response['json']['status'];
			self::$submitted = array( 'id' => (string) $response['json']['id'], 'status' => $status );
			switch ( $status ) {
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
		// 409: the service's duplicate rule; 429: its flood rule (nothing stored there). Anything
		// else (down, timeout, bad key): WordPress holds the comment for its moderators.
		if ( 409 === $code ) {
			return 'spam';
		}
		if ( self::retryable( $code ) ) {
			self::$unsent = $approved;
		}
		return 0;
	}

	private static function comment_payload( $c ) {
		$payload = array(
			'post_id'      => (string) $c['comment_post_ID'],
			'author_name'  => (string) $c['comment_author'],
			'author_email' => (string) $c['comment_author_email'],
			'content'      => (string) $c['comment_content'],
		);
		$optional = array(
			'author_url' => isset( $c['comment_author_url'] ) ? (string) $c['comment_author_url'] : '',
			'post_url'   => (string) get_permalink( (int) $c['comment_post_ID'] ),
			'parent_id'  => ! empty( $c['comment_parent'] ) ? self::service_id( (int) $c['comment_parent'] ) : '',
			'user_ip'    => isset( $c['comment_author_IP'] ) ? (string) $c['comment_author_IP'] : '',
			'user_agent' => isset( $c['comment_agent'] ) ? (string) $c['comment_agent'] : '',
			'lang'       => str_replace( '_', '-', get_locale() ),
		);
		foreach ( $optional as $name => $value ) {
			if ( '' !== $value ) {
				$payload[ $name ] = $value;
			}
		}
		return $payload;
	}

	private static function service_id( $comment_id ) {
		return (string) get_comment_meta( $comment_id, self::META_ID, true );
	}

	/** WordPress stored the comment: remember the service's id for webhooks and decisions. */
	public static function stored( $comment_id, $approved, $commentdata ) {
		if ( null !== self::$unsent ) {
			add_comment_meta( $comment_id, self::META_UNSENT, (string) self::$unsent, true );
			self::$unsent = null;
			self::schedule_retry();
		}
		if ( null === self::$submitted ) {
			return;
		}
		add_comment_meta( $comment_id, self::META_ID, self::$submitted['id'], true );
		self::$submitted = null;
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
		$follow_ups         = self::$follow_ups;
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

	/** Unreachable, unavailable or a key being fixed: worth sending again. Refusals are not. */
	private static function retryable( $code ) {
		return 0 === $code || 401 === $code || 403 === $code || 408 === $code || $code >= 500;
	}

	private static function schedule_retry() {
		if ( ! wp_next_scheduled( self::RETRY_HOOK ) ) {
			wp_schedule_single_event( time() + (int) apply_filters( 'moderation_service_retry_delay', self::RETRY_DELAY ), self::RETRY_HOOK );
		}
	}

	/**
	 * WP-Cron: send the comments the service could not take when they were posted. A comment
	 * still held gets the status it would have had (the stricter of WordPress's and the
	 * service's); one a moderator already decided in wp-admin sends that decision too.
	 */
	public static function retry_unsent() {
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
		$left = false;
		foreach ( $ids as $comment_id ) {
			$comment = get_comment( (int) $comment_id );
			if ( ! $comment ) {
				continue;
			}
			$response = self::request(
				'POST',
				'/v1/comments',
				self::setting( 'api_key' ),
				self::comment_payload( (array) $comment->to_array() ),
				// The same comment sent twice (a retry after a lost answer) is stored once.
				array( 'Idempotency-Key' => 'wp-' . md5( home_url() ) . '-' . $comment->comment_ID ),
				self::SUBMIT_TIMEOUT
			);
			$code = $response['code'];
			if ( $code >= 200 && $code < 300 && isset( $response['json']['id'], $response['json']['status'] ) ) {
				self::sent_late( $comment, (string) $response['json']['id'], (string) $response['json']['status'] );
			} elseif ( self::retryable( $code ) ) {
				$left = true;
				break; // still down: the rest waits for the next run
			} else {
				delete_comment_meta( $comment->comment_ID, self::META_UNSENT );
				update_comment_meta( $comment->comment_ID, self::META_SYNC, 'the service refused it (HTTP ' . $code . ')' );
			}
		}
		if ( $left || count( $ids ) === self::RETRY_BATCH ) {
			self::schedule_retry();
		}
	}

	private static function sent_late( $comment, $service_id, $status ) {
		$comment_id = (int) $comment->comment_ID;
		$own        = (string) get_comment_meta( $comment_id, self::META_UNSENT, true );
		add_comment_meta( $comment_id, self::META_ID, $service_id, true );
		delete_comment_meta( $comment_id, self::META_UNSENT );
		$current = wp_get_comment_status( $comment_id );
		if ( 'unapproved' === $current ) {
			$verbs = array( 'spam' => 'spam', 'rejected' => 'trash', 'approved' => '1' === $own ? 'approve' : null );
			if ( isset( $verbs[ $status ] ) ) {
				self::set_status( $comment_id, $verbs[ $status ] );
			}
			return;
		}
		$decisions = array( 'approved' => 'approve', 'spam' => 'spam', 'trash' => 'reject' );
		if ( isset( $decisions[ $current ] ) ) {
			self::decide( $service_id, $decisions[ $current ], 'wp-admin, before the service had the comment', 'reject' === $decisions[ $current ] ? 'other' : null );
		}
	}

	// ------------------------------------------------------------------ wp-admin → service

	public static function transition( $new_status, $old_status, $comment ) {
		if ( self::$applying || $new_status === $old_status ) {
			return;
		}
		$service_id = self::service_id( (int) $comment->comment_ID );
		if ( '' === $service_id ) {
			return;
		}
		$decision = null;
		if ( 'approved' === $new_status ) {
			$decision = 'approve';
		} elseif ( 'spam' === $new_status ) {
			$decision = 'spam';
		} elseif ( 'trash' === $new_status ) {
			$decision = 'reject';
		} elseif ( 'unapproved' === $new_status && 'spam' === $old_status ) {
			// "Not spam": the service has no "pending" decision; its approval comes back by
			// webhook and publishes the comment here too.
			$decision = 'approve';
		}
		if ( null === $decision ) {
			return; // unapprove, restore from trash, delete: nothing the service can record
		}
		$comment_id = (int) $comment->comment_ID;
		$user       = wp_get_current_user();
		$note       = 'wp-admin' . ( $user && $user->exists() ? ': ' . $user->user_login : '' );
		$response   = self::decide( $service_id, $decision, $note, 'reject' === $decision ? 'other' : null );
		$recorded   = array( 'approve' => 'approved', 'spam' => 'spam', 'reject' => 'rejected' );
		if ( 200 === $response['code'] ) {
			delete_comment_meta( $comment_id, self::META_SYNC );
			$at = isset( $response['json']['decision']['at'] ) ? self::iso_ms( (string) $response['json']['decision']['at'] ) : null;
			if ( null !== $at ) {
				self::remember_decided_at( $comment_id, $at );
			}
			if ( 'approve' === $decision && 'approved' !== $new_status ) {
				self::$follow_ups[ $comment_id ] = 'approve'; // "Not spam" publishes, as the service does
			}
		} elseif ( 409 === $response['code'] && isset( $response['json']['current_status'] ) ) {
			// The service keeps one moderator decision per comment: show that one here too.
			$current = (string) $response['json']['current_status'];
			$verb    = array_search( $current, self::EVENT_VERB_STATUS, true );
			update_comment_meta( $comment_id, self::META_SYNC, 'the service had already decided ' . $current . '; WordPress shows that' );
			if ( false !== $verb && $recorded[ $decision ] !== $current ) {
				self::$follow_ups[ $comment_id ] = $verb;
			}
		} else {
			update_comment_meta( $comment_id, self::META_SYNC, 'the service did not record ' . $decision . ' (HTTP ' . $response['code'] . ')' );
		}
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

	private static function remember_decided_at( $comment_id, $at ) {
		if ( $at > (int) get_comment_meta( $comment_id, self::META_DECIDED_AT, true ) ) {
			update_comment_meta( $comment_id, self::META_DECIDED_AT, (string) $at );
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
				'number'     => 1,
			)
		);
		if ( empty( $found ) ) {
			if ( get_transient( 'moderation_refused_' . md5( $service_id ) ) ) {
				return self::answer( 200, 'ignored', 'WordPress refused this comment' );
			}
			// Perhaps not stored yet, or deleted here: the service retries, then keeps a dead letter.
			return self::answer( 404, 'unknown_comment', 'no comment with this moderation id' );
		}
		$comment_id = (int) $found[0];
		$event_at   = isset( $event['created_at'] ) ? self::iso_ms( (string) $event['created_at'] ) : null;
		if ( null !== $event_at && $event_at < (int) get_comment_meta( $comment_id, self::META_DECIDED_AT, true ) ) {
			return self::answer( 200, 'stale', 'a newer decision was applied already' );
		}
		$verb    = self::EVENT_STATUS[ $event['type'] ];
		$current = wp_get_comment_status( $comment_id );
		if ( null !== $event_at ) {
			self::remember_decided_at( $comment_id, $event_at );
		}
		if ( self::VERB_WP_STATUS[ $verb ] === $current ) {
			return self::answer( 200, 'unchanged', $current );
		}
		if ( ! self::set_status( $comment_id, $verb ) ) {
			return self::answer( 500, 'not_applied', 'WordPress did not change the status' );
		}
		delete_comment_meta( $comment_id, self::META_SYNC );
		return self::answer( 200, 'applied', wp_get_comment_status( $comment_id ) );
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

	/** The test button: the site key against /v1/check (stores nothing), the token against the queue. */
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
		set_transient( 'moderation_service_test_' . get_current_user_id(), $lines, MINUTE_IN_SECONDS );
		wp_safe_redirect( admin_url( 'options-general.php?page=moderation-service' ) );
		exit;
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
