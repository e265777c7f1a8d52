/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type AgeRating =
  | 'K'
  | 'P'
  | 'T13'
  | 'T16'
  | 'T18';

export type BookingStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'CONFIRMED'
  | 'EXPIRED'
  | 'PENDING';

/** Where one payment attempt stands. */
export type PaymentAttemptStatus =
  | 'COMPLETED'
  | 'EXPIRED'
  | 'FAILED'
  | 'PENDING';

export type PaymentStatus =
  | 'FAILED'
  | 'PAID'
  | 'PARTIALLY_REFUNDED'
  | 'PENDING'
  | 'REFUNDED'
  | 'UNPAID';

export type SeatStatus =
  | 'AVAILABLE'
  | 'BLOCKED'
  | 'BOOKED'
  | 'HELD';

export type SeatType =
  | 'ACCESSIBLE'
  | 'COUPLE'
  | 'PREMIUM'
  | 'STANDARD'
  | 'VIP';

export type ShowtimeStatus =
  /** The cinema cancelled it: no seat can be held or booked, and its bookings are cancelled, the paid ones refunded in full. */
  | 'CANCELLED'
  /** It plays as scheduled. */
  | 'SCHEDULED';

/** PENDING until the booking is confirmed; VALID until scanned (USED) or cancelled. */
export type TicketStatus =
  | 'CANCELLED'
  | 'PENDING'
  | 'USED'
  | 'VALID';

export type CreateBookingMutationVariables = Exact<{
  showtimeId: string | number;
  seatIds: Array<string | number> | string | number;
}>;


export type CreateBookingMutation = { createBooking: { id: string, bookingCode: string, status: BookingStatus } };

export type StartPaymentMutationVariables = Exact<{
  bookingId: string | number;
}>;


export type StartPaymentMutation = { startPayment: { id: string, status: PaymentAttemptStatus, paymentUrl: string | null } };

export type CancelBookingMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelBookingMutation = { cancelBooking: { booking: { id: string, status: BookingStatus, paymentStatus: PaymentStatus } } };

export type BookingTicketsQueryVariables = Exact<{
  id: string | number;
}>;


export type BookingTicketsQuery = { booking: { id: string, bookingCode: string, status: BookingStatus, paymentStatus: PaymentStatus, subtotal: number, discount: number, pointsDiscount: number, finalAmount: number, expiresAt: string | null, showtime: { id: string, startsAt: string, format: string, movie: { id: string, title: string }, hall: { id: string, name: string, cinema: { id: string, name: string, address: string } } }, tickets: Array<{ ticketCode: string, status: TicketStatus, price: number, qrCode: string | null, barcode: string | null, seat: { seatId: string, row: string, number: number, type: SeatType } }>, payment: { status: PaymentAttemptStatus, paidAt: string | null } | null } | null };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { me: { id: string, name: string | null, email: string | null } };

export type PickerCinemasQueryVariables = Exact<{ [key: string]: never; }>;


export type PickerCinemasQuery = { cinemas: Array<{ id: string, name: string, city: string }> };

export type PickerMoviesQueryVariables = Exact<{
  city: string;
}>;


export type PickerMoviesQuery = { movies: { edges: Array<{ node: { id: string, title: string, durationMinutes: number, ageRating: AgeRating, genres: Array<string> } }> } };

export type PickerShowtimesQueryVariables = Exact<{
  movieId: string | number;
  city: string;
  from: string;
  to: string;
}>;


export type PickerShowtimesQuery = { movie: { id: string, title: string, durationMinutes: number, ageRating: AgeRating, showtimes: Array<{ id: string, startsAt: string, format: string, language: string, subtitles: string | null, availableSeats: number, hall: { id: string, name: string, cinema: { id: string, name: string, address: string } } }> | null } | null };

export type ShowtimeSeatMapQueryVariables = Exact<{
  showtimeId: string | number;
}>;


export type ShowtimeSeatMapQuery = { showtime: { id: string, status: ShowtimeStatus, startsAt: string, endsAt: string, format: string, language: string, movie: { id: string, title: string, durationMinutes: number, ageRating: AgeRating }, hall: { id: string, name: string, rows: number, columns: number, cinema: { id: string, name: string, city: string }, seats: Array<{ id: string, column: number }> }, prices: Array<{ seatType: SeatType, amount: number }>, seatMap: { version: number, seats: Array<{ seatId: string, row: string, number: number, type: SeatType, status: SeatStatus, heldByMe: boolean }> } } | null };

export type SeatStatesQueryVariables = Exact<{
  showtimeId: string | number;
}>;


export type SeatStatesQuery = { showtime: { id: string, seatMap: { version: number, seats: Array<{ seatId: string, status: SeatStatus, heldByMe: boolean }> } } | null };

export type SeatUpdatesSubscriptionVariables = Exact<{
  showtimeId: string | number;
}>;


export type SeatUpdatesSubscription = { seatUpdates: { showtimeId: string, version: number, seats: Array<{ seatId: string, status: SeatStatus, heldByMe: boolean }> } };

export type HoldSeatsMutationVariables = Exact<{
  showtimeId: string | number;
  seatIds: Array<string | number> | string | number;
}>;


export type HoldSeatsMutation = { holdSeats: { expiresAt: string, seats: Array<{ seatId: string, status: SeatStatus, heldByMe: boolean }> } };

export type ReleaseSeatsMutationVariables = Exact<{
  showtimeId: string | number;
  seatIds: Array<string | number> | string | number;
}>;


export type ReleaseSeatsMutation = { releaseSeats: { seats: Array<{ seatId: string, status: SeatStatus, heldByMe: boolean }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const CreateBookingDocument = new TypedDocumentString(`
    mutation CreateBooking($showtimeId: ID!, $seatIds: [ID!]!) {
  createBooking(input: {showtimeId: $showtimeId, seatIds: $seatIds}) {
    id
    bookingCode
    status
  }
}
    `) as unknown as TypedDocumentString<CreateBookingMutation, CreateBookingMutationVariables>;
export const StartPaymentDocument = new TypedDocumentString(`
    mutation StartPayment($bookingId: ID!) {
  startPayment(bookingId: $bookingId, method: VNPAY) {
    id
    status
    paymentUrl
  }
}
    `) as unknown as TypedDocumentString<StartPaymentMutation, StartPaymentMutationVariables>;
export const CancelBookingDocument = new TypedDocumentString(`
    mutation CancelBooking($id: ID!) {
  cancelBooking(id: $id) {
    booking {
      id
      status
      paymentStatus
    }
  }
}
    `) as unknown as TypedDocumentString<CancelBookingMutation, CancelBookingMutationVariables>;
export const BookingTicketsDocument = new TypedDocumentString(`
    query BookingTickets($id: ID!) {
  booking(id: $id) {
    id
    bookingCode
    status
    paymentStatus
    subtotal
    discount
    pointsDiscount
    finalAmount
    expiresAt
    showtime {
      id
      startsAt
      format
      movie {
        id
        title
      }
      hall {
        id
        name
        cinema {
          id
          name
          address
        }
      }
    }
    tickets {
      ticketCode
      status
      price
      qrCode
      barcode
      seat {
        seatId
        row
        number
        type
      }
    }
    payment {
      status
      paidAt
    }
  }
}
    `) as unknown as TypedDocumentString<BookingTicketsQuery, BookingTicketsQueryVariables>;
export const ViewerDocument = new TypedDocumentString(`
    query Viewer {
  me {
    id
    name
    email
  }
}
    `) as unknown as TypedDocumentString<ViewerQuery, ViewerQueryVariables>;
export const PickerCinemasDocument = new TypedDocumentString(`
    query PickerCinemas {
  cinemas {
    id
    name
    city
  }
}
    `) as unknown as TypedDocumentString<PickerCinemasQuery, PickerCinemasQueryVariables>;
export const PickerMoviesDocument = new TypedDocumentString(`
    query PickerMovies($city: String!) {
  movies(filter: {nowShowing: true, city: $city}, first: 100) {
    edges {
      node {
        id
        title
        durationMinutes
        ageRating
        genres
      }
    }
  }
}
    `) as unknown as TypedDocumentString<PickerMoviesQuery, PickerMoviesQueryVariables>;
export const PickerShowtimesDocument = new TypedDocumentString(`
    query PickerShowtimes($movieId: ID!, $city: String!, $from: DateTime!, $to: DateTime!) {
  movie(id: $movieId) {
    id
    title
    durationMinutes
    ageRating
    showtimes(from: $from, to: $to, city: $city) {
      id
      startsAt
      format
      language
      subtitles
      availableSeats
      hall {
        id
        name
        cinema {
          id
          name
          address
        }
      }
    }
  }
}
    `) as unknown as TypedDocumentString<PickerShowtimesQuery, PickerShowtimesQueryVariables>;
export const ShowtimeSeatMapDocument = new TypedDocumentString(`
    query ShowtimeSeatMap($showtimeId: ID!) {
  showtime(id: $showtimeId) {
    id
    status
    startsAt
    endsAt
    format
    language
    movie {
      id
      title
      durationMinutes
      ageRating
    }
    hall {
      id
      name
      rows
      columns
      cinema {
        id
        name
        city
      }
      seats {
        id
        column
      }
    }
    prices {
      seatType
      amount
    }
    seatMap {
      version
      seats {
        seatId
        row
        number
        type
        status
        heldByMe
      }
    }
  }
}
    `) as unknown as TypedDocumentString<ShowtimeSeatMapQuery, ShowtimeSeatMapQueryVariables>;
export const SeatStatesDocument = new TypedDocumentString(`
    query SeatStates($showtimeId: ID!) {
  showtime(id: $showtimeId) {
    id
    seatMap {
      version
      seats {
        seatId
        status
        heldByMe
      }
    }
  }
}
    `) as unknown as TypedDocumentString<SeatStatesQuery, SeatStatesQueryVariables>;
export const SeatUpdatesDocument = new TypedDocumentString(`
    subscription SeatUpdates($showtimeId: ID!) {
  seatUpdates(showtimeId: $showtimeId) {
    showtimeId
    version
    seats {
      seatId
      status
      heldByMe
    }
  }
}
    `) as unknown as TypedDocumentString<SeatUpdatesSubscription, SeatUpdatesSubscriptionVariables>;
export const HoldSeatsDocument = new TypedDocumentString(`
    mutation HoldSeats($showtimeId: ID!, $seatIds: [ID!]!) {
  holdSeats(showtimeId: $showtimeId, seatIds: $seatIds) {
    expiresAt
    seats {
      seatId
      status
      heldByMe
    }
  }
}
    `) as unknown as TypedDocumentString<HoldSeatsMutation, HoldSeatsMutationVariables>;
export const ReleaseSeatsDocument = new TypedDocumentString(`
    mutation ReleaseSeats($showtimeId: ID!, $seatIds: [ID!]!) {
  releaseSeats(showtimeId: $showtimeId, seatIds: $seatIds) {
    seats {
      seatId
      status
      heldByMe
    }
  }
}
    `) as unknown as TypedDocumentString<ReleaseSeatsMutation, ReleaseSeatsMutationVariables>;